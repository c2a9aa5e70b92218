"""Quality floors on the labelled sets (the comparison with nomenklatura is in bench/)."""

from __future__ import annotations

import csv
from pathlib import Path

from aiexport.screening.match import THRESHOLD

from .conftest import FIXTURES, need

PAIRS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "screening" / "el_alias_pairs_eval.csv"


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def test_el_alias_pairs_precision_and_f1(real_index):
    rows = list(csv.DictReader(need(PAIRS).open()))
    tp = fp = fn = 0
    for r in rows:
        hit = real_index.pair_score(r["query"], r["candidate"]) >= THRESHOLD
        same = r["is_same_entity"] == "1"
        tp += hit and same
        fp += hit and not same
        fn += same and not hit
    p, _, f = prf(tp, fp, fn)
    assert p >= 0.95 and f >= 0.50, (p, f)


def test_purchase_order_queries_against_the_whole_list(real_index):
    tp = fp = fn = 0
    for r in csv.DictReader((FIXTURES / "po_queries.csv").open()):
        names = {m.entry.name for m in real_index.screen(r["name"], r["country"] or None, explain=False)}
        if r["expected"]:
            if r["expected"] in names:
                tp += 1
            else:
                fn += 1
                fp += bool(names)
        else:
            fp += bool(names)
    p, r_, f = prf(tp, fp, fn)
    assert p >= 0.95 and r_ >= 0.95, (p, r_, f)
