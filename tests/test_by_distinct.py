"""The rule lists evaluated once per distinct input tuple (``engine.plan.by_distinct``, used on
frames of ``DISTINCT_FROM`` rows or more) give every record exactly what the row-by-row evaluation
gives: the same generated book decided with the threshold at 1 row and out of reach."""

from __future__ import annotations

import json

import pytest

from aiexport.engine import plan
from aiexport.io.transactions import load_rows, parse
from aiexport.law.decide import decide, records

from .batch.helpers import generate


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_distinct_evaluation_gives_every_record_the_row_by_row_answer(tmp_path, monkeypatch, posture):
    f = tmp_path / "book.csv"
    generate(700, seed=23).write_csv(f)
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
    assert len(by_row) == 700 and by_tuple == by_row
    # the book exercises the lists: several outcomes, facts asked, reach records
    assert {r["outcome"] for r in by_row} >= {"NLR", "LICENSE_REQUIRED", "NEEDS_FACTS"}
    assert any(r["needs_facts"] for r in by_row) and any(r.get("reach") for r in by_row)
