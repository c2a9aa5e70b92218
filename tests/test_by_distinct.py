"""The rule lists evaluated once per distinct input tuple (``engine.plan.by_distinct``, used on
frames of ``DISTINCT_FROM`` rows or more) give every record exactly what the row-by-row evaluation
gives: the same generated book decided with the threshold at 1 row and out of reach."""

from __future__ import annotations

import json

import polars as pl
import pytest

from aiexport.engine import plan
from aiexport.io.transactions import load_rows, parse
from aiexport.law.decide import decide, records

from .batch.helpers import generate


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_distinct_evaluation_gives_every_record_the_row_by_row_answer(tmp_path, monkeypatch, posture):
    f = tmp_path / "book.csv"
    book = generate(700, seed=23)
    # rows whose obligations quote their own dates and totals: an LPP exception (codified), NAC
    # with the notice in time, and a notice too late (two shipments of each, on different days)
    own = [
        {"date": d, "to": "IN", "chip": "H100 SXM", "quantity": q, "consignee_name": "Mumbai AI Labs",
         "consignee_country": "IN", "fact_lpp_consumed_tpp": used}
        for d, q, used in (("2025-06-02", "100", "0"), ("2025-06-03", "1", "26884168"))
    ] + [
        {"date": d, "to": "CN", "chip": "RTX 4090", "quantity": "50", "consignee_name": "Beijing Lab",
         "consignee_country": "CN", "fact_nac_notified_on": n}
        for d, n in (("2024-06-03", "2024-05-20"), ("2024-06-13", "2024-05-21"), ("2024-06-14", "2024-05-20"),
                     ("2024-07-01", "2024-06-01"))
    ]
    own = [{**r, "id": f"OWN{i}", "kind": "export", "from": "US"} for i, r in enumerate(own)]
    own = pl.DataFrame([{c: r.get(c) for c in book.columns} for r in own], schema=book.schema)
    book = pl.concat([book, own])
    book.write_csv(f)
    txs, errors, numbers = parse(load_rows(f), str(f))
    assert not errors, errors[:3]

    def decided(threshold: int) -> list[dict]:
        monkeypatch.setattr(plan, "DISTINCT_FROM", threshold)
        return json.loads(json.dumps(records(decide(txs, posture=posture, source=str(f), rows=numbers)), default=str))

    spy = []
    real = plan.by_distinct
    monkeypatch.setattr(plan, "by_distinct", lambda *a, **k: spy.append(1) or real(*a, **k))
    by_row = decided(10**12)
    assert not spy  # out of reach: every row evaluated
    by_tuple = decided(1)
    assert spy  # the distinct path ran
    assert len(by_row) == 706 and by_tuple == by_row
    said = [o for r in by_row for o in r.get("obligations") or []]
    assert any("earliest date NAC would authorize it: 2024-06-14" in o for o in said)
    assert any("Earliest shipment under NAC: 2024-06-14" in o for o in said)
    assert any(o.startswith("LPP: 26900000 of 26900000") for o in said) == (posture == "codified")
    # the book exercises the lists: several outcomes, facts asked, reach records
    assert {r["outcome"] for r in by_row} >= {"NLR", "LICENSE_REQUIRED", "NEEDS_FACTS"}
    assert any(r["needs_facts"] for r in by_row) and any(r.get("reach") for r in by_row)
