"""Regulatory cases (tests/law/cases/classification.yaml): outcome AND determining rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from aiexport.errors import InputError
from aiexport.law.items import classify_items
from aiexport.law.metrics import MICRO

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "classification.yaml").read_text())
for _c in CASES:  # YAML 1.1 reads a bare `on:` key as True
    if True in _c:
        _c["on"] = _c.pop(True)


def _expanded():
    for case in CASES:
        dates = case["on"] if isinstance(case["on"], list) else [case["on"]]
        for d in dates:
            exp = case["expect"].get(d, case["expect"]) if len(dates) > 1 else case["expect"]
            yield pytest.param(case, d, exp, id=f"{case['name']} @ {d}")


@pytest.mark.parametrize(("case", "on", "expect"), list(_expanded()))
def test_case(case, on, expect):
    on = on if isinstance(on, dt.date) else dt.date.fromisoformat(str(on))
    if "error" in expect:
        with pytest.raises(InputError) as exc:
            classify_items([case["item"]], on, source="case")
        assert expect["error"] in str(exc.value)
        return
    row = classify_items([case["item"]], on, source="case").row(0, named=True)
    for key, want in expect.items():
        if key == "tpp":
            assert row["tpp"] == want * MICRO, key
        elif key == "system_tpp":
            assert row["system_tpp"] == want * MICRO, key
        elif key == "needs_facts":
            assert row["needs_facts"] == want, key
        else:
            assert row[key] == want, f"{key}: {row[key]!r} != {want!r}; reasons={row['reasons']}"
    assert "rules" in expect or "error" in expect or "needs_facts" in expect or "hbm_exception_eligible" in expect


def test_every_case_asserts_outcome_and_rules():
    for case in CASES:
        dates = case["on"] if isinstance(case["on"], list) else [case["on"]]
        for d in dates:
            exp = case["expect"].get(d, case["expect"]) if len(dates) > 1 else case["expect"]
            if "error" in exp:
                continue
            assert "eccn" in exp, case["name"]
            assert "rules" in exp or "needs_facts" in exp or "hbm_exception_eligible" in exp, case["name"]
