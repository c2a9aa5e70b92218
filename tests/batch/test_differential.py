"""batch and check, differentially, on hostile order books (hypothesis): every generated CSV has
cells drawn from valid, borderline and bad values, and the two paths must agree on which lines
are refused and, for every other line, on every contract column. A line one path decides and
the other refuses, or decides differently, is a silent wrong answer in one of them."""

from __future__ import annotations

import csv
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aiexport.app.decisions import decide_checked
from aiexport.batch.core import decide_chunk
from aiexport.batch.run import scan
from aiexport.errors import InputError, InputErrors
from aiexport.io.transactions import load_rows, parse
from aiexport.law.decide import records

from .helpers import CONTRACT

VALID_CC = ["US", "DE", "CN", "HK", "MO", "AE", "IN", "SG", "KP", "RU", "de", " SG "]
BAD_CC = ["XX", "Germany", ""]
# column -> (valid or borderline values, bad values); a cell is bad about one time in 25,
# so about a third of the lines are decided and the rest refused, each for a reason or several
POOLS = {
    "date": (["2025-09-01", "2023-11-17", "2022-10-21", "2024-04-04", "2026-07-10", "2025-05-15", " 2024-04-04 ",
              "2022-10-06", "2025-01-15"],
             ["2025-13-01", "2025-9-1", "01/02/2025", "0", "2025-09-01T00:00:00", ""]),
    "kind": (["export", "reexport", "transfer"], ["EXPORT", "lease", ""]),
    "from": (["US", "US", "TW", "SG"], ["xx", ""]),
    "to": (VALID_CC, BAD_CC),
    "chip": (["H100 SXM", "H20", "A800 SXM", "B200", "h100 sxm", "MI308X"], ["Nonexistent 9000", ""]),
    "quantity": (["8", "1", "64", "2000", " 64 ", "500000"], ["0", "-3", "1.5", "10000001", "abc", "1,000", "1e3", ""]),
    "consignee_name": (["", "Acme GmbH", "Zhongguancun Compute Co., Ltd."], ["  "]),
    "consignee_country": (VALID_CC, BAD_CC),
    "consignee_headquarters": (["", "", "CN", "US", "MO"], ["zz"]),
    "consignee_ultimate_parent_headquarters": (["", "", "CN", "US"], ["XX"]),
    "end_user_country": (["", "", "SG", "CN"], ["??"]),
    "fact_lpp_consumed_tpp": (["", "", "0", "26000000", "1e9"], ["-1", "abc"]),
    "fact_purpose": (["", "", "development", "deployment", "DEVELOPMENT"], ["other"]),
    "fact_approved_or_authorized_designer": (["", "", "yes", "no", "Y", "TRUE"], ["maybe"]),
    "fact_nac_notified_on": (["", "", "2024-05-20"], ["2024-13-40", "yesterday"]),
    # the other licence facts, the parties' remaining fields, servers, and the scalar reach facts
    "item": ([""] * 6 + ['{"server": [{"chip": "H100 SXM", "count": 8}]}'], ['{"server": [{"chip": "H100 SXM", "count": 0}]}',
                                                                          "{not json"]),
    "end_user_name": (["", "", "Blue Lake Labs"], ["   "]),
    "end_user_headquarters": (["", "", "CN", "US"], ["Q1"]),
    "fact_end_user_government": (["", "", "yes", "no"], ["sometimes"]),
    "fact_rely_on_codified_exceptions": (["", "", "yes", "no"], ["2"]),
    "fact_ultimate_customers_outside_d5_macau": (["", "", "yes", "no"], ["unknown"]),
    "fact_uae_government_or_supp8_entity": (["", "", "yes", "no"], ["n/a"]),
    "fact_designer_headquarters": (["", "", "US", "CN", "hk"], ["USA"]),
    "fact_made_in": (["", "", "", "TW", "US", "cn"], ["Taiwan"]),
    "fact_us_controlled_content_share": (["", "", "", "0", "10", "25.5", "100"], ["101", "-1", "ten"]),
    "fact_us_content_without_de_minimis": (["", "", "yes", "no"], ["perhaps"]),
    "fact_direct_product_of_us_technology": (["", "", "", "yes", "no"], ["y?"]),
    "fact_made_by_us_tool_plant": (["", "", "", "yes", "no"], ["maybe"]),
    "fact_end_use": (["", "", "", "none", "military", "ai_model_training", "SUPERCOMPUTER"], ["weapons"]),
    "fact_destination_region": (["", "", "", "other", "crimea"], ["donbas"]),
    "fact_eccn_below_3a090": (["", "", "", "3A991.p", "EAR99", "4a994.l"], ["3A9"]),
    "fact_ai_training_for_headquarters": (["", "", "", "CN", "US"], ["China"]),
}
COLUMNS = ["id", *POOLS]


def _cell(valid: list[str], bad: list[str]):
    return st.integers(0, 24).flatmap(lambda k: st.sampled_from(bad if k == 0 else valid))


def rows_strategy():
    cell = {c: _cell(*v) for c, v in POOLS.items()}
    return st.lists(st.fixed_dictionaries(cell), min_size=1, max_size=25)


def check_side(path, posture):
    """(refused row numbers, {id: contract record}) as check's own path gives them."""
    txs, errors, numbers = parse(load_rows(path), str(path))
    refused = {e.row for e in errors}
    while txs:
        try:
            frame = decide_checked(txs, numbers, str(path), None, posture)
            break
        except (InputError, InputErrors) as exc:
            for e in exc.errors if isinstance(exc, InputErrors) else [exc]:
                refused.add(e.row)
                k = numbers.index(e.row)
                del txs[k], numbers[k]
    else:
        return refused, {}
    out = {}
    for r in records(frame):
        r["needs_facts"] = [f["fact"] for f in r["needs_facts"]]
        out[r["id"]] = {k: r[k] for k in CONTRACT if k not in ("date", "quantity", "total_tpp", "item", "from", "to")}
    return refused, out


def batch_side(path, posture):
    res = decide_chunk(scan(path).collect(), posture=posture, source=str(path))
    out = {}
    for r in res.decided.to_dicts():
        out[r["id"]] = {k: r[k] for k in CONTRACT if k not in ("date", "quantity", "total_tpp", "item", "from", "to")}
    return set(res.rejects["row"].to_list()), out


# No shrinking (each example decides a book twice): a failure prints the rows that differ, whole.
# The suite runs a fixed draw of 100 books (derandomized: CI never fails on a new draw);
# AIEXPORT_EXPLORE=N draws N fresh books instead, to look for new disagreements.
EXPLORE = int(os.environ.get("AIEXPORT_EXPLORE") or 0)


@settings(max_examples=EXPLORE or 100, derandomize=not EXPLORE, deadline=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows_strategy(), posture=st.sampled_from(["enforced", "codified"]))
def test_batch_and_check_agree_on_hostile_books(tmp_path_factory, rows, posture):
    path = tmp_path_factory.mktemp("diff") / "book.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i, r in enumerate(rows):
            w.writerow([f"D{i}", *(r[c] for c in POOLS)])
    c_refused, c_out = check_side(path, posture)
    b_refused, b_out = batch_side(path, posture)
    assert b_refused == c_refused, (sorted(b_refused ^ c_refused), [rows[i - 1] for i in sorted(b_refused ^ c_refused)])
    assert b_out.keys() == c_out.keys()
    for k in c_out:
        assert b_out[k] == c_out[k], (k, rows[int(k[1:])], b_out[k], c_out[k])
    assert len(b_refused) + len(b_out) == len(rows)


# Frames of DISTINCT_FROM rows or more take other paths than the books above (evaluation once per
# distinct tuple, the reach rules stage by stage over runs of epochs, the precedence split by
# case): one hostile book of chunk scale, with items given by their specs (designers in and out
# of D:5), the GP10 facts, and dates on the day of a rule change and either side of it.
SPEC_NAMES = ["MetaX C500", "Enflame T20", "Huawei Ascend 910B", "NVIDIA H100 SXM", "Acme X1", "Cambricon MLU370",
              "Iluvatar CoreX BI"]
EDGE_DATES = ["2025-05-12", "2025-05-13", "2025-05-14", "2025-01-14", "2025-01-15", "2026-01-14", "2026-01-15",
              "2023-11-16", "2023-11-17", "2024-04-04"]
GP10_POOLS = {"fact_developed_by_d5_or_macau_entity": (["", "", "", "yes", "no"], ["perhaps"]),
              "fact_gp10_technical_evaluation": (["", "", "", "yes", "no"], ["x"])}


def _chunk_scale_book(path, n: int, seed: int) -> None:
    import json
    import random

    rnd = random.Random(seed)
    pools = {**POOLS, **GP10_POOLS}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", *pools])
        for i in range(n):
            r = {c: rnd.choice(bad) if rnd.randrange(800) == 0 else rnd.choice(valid) for c, (valid, bad) in pools.items()}
            if rnd.random() < 0.15:
                specs = {"name": rnd.choice(SPEC_NAMES), "dense_tops_fp16": rnd.choice([100, 300, 500, 990, 2000]),
                         "die_area_mm2": rnd.choice([400, 800]), "marketed_for_datacenter": rnd.random() < 0.5}
                r["chip"], r["item"] = "", json.dumps({"specs": specs})
            if rnd.random() < 0.3:
                r["date"] = rnd.choice(EDGE_DATES)
            w.writerow([f"D{i}", *(r[c] for c in pools)])


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_batch_and_check_agree_on_a_hostile_book_of_chunk_size(tmp_path, posture):
    from aiexport.engine import plan

    path = tmp_path / "book.csv"
    _chunk_scale_book(path, 4000, seed=5)
    c_refused, c_out = check_side(path, posture)
    b_refused, b_out = batch_side(path, posture)
    assert len(b_out) >= plan.DISTINCT_FROM  # the large-frame paths were taken
    assert b_refused == c_refused, sorted(b_refused ^ c_refused)[:10]
    assert b_out.keys() == c_out.keys()
    differ = [(k, b_out[k], c_out[k]) for k in c_out if b_out[k] != c_out[k]]
    assert not differ, differ[:3]
    assert sum("GP10" in r["rules"] for r in b_out.values()) > 20
