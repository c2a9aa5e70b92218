"""Regulatory cases for model weights (4E091), the foundry presumption, GP10 and notices
(tests/law/cases/models.yaml, foundry.yaml, gp10.yaml): outcome, policy AND determining rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from aiexport.io.transactions import parse
from aiexport.law.decide import decide, records
from aiexport.law.overlays import bundled_notice
from tests.law.test_license_cases import POSTURES, _as_list, _expect, _fix, _transaction

HERE = Path(__file__).parent / "cases"
FILES = ("models.yaml", "foundry.yaml", "gp10.yaml")
CASES = [(f, c) for f in FILES for c in yaml.safe_load((HERE / f).read_text())]


def instances():
    for f, case in CASES:
        case = _fix(case)
        for day in _as_list(case["on"]):
            day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
            for posture in _as_list(case.get("posture", list(POSTURES))):
                yield pytest.param(case, day, posture, id=f"{f[:-5]}: {case['name']} @ {day} / {posture}")


def _notices(case: dict):
    return [bundled_notice(n) for n in case.get("notices", [])]


def _enabled(notices):
    from dataclasses import replace

    return [replace(n, enabled=True) for n in notices]


@pytest.mark.parametrize(("case", "day", "posture"), list(instances()))
def test_case(case, day, posture):
    want = _expect(case, day, posture)
    txs, errors, _ = parse([_transaction(case, day)], "case")
    assert not errors, errors
    got = records(decide(txs, posture=posture, notices=_enabled(_notices(case))))[0]
    assert got["outcome"] == want["outcome"], got
    assert got["rules"] == want["rules"], got
    if want["outcome"] == "LICENSE_EXCEPTION":
        assert got["license_exception"] == want["license_exception"], got
    else:
        assert got["license_exception"] is None, got
    if want["outcome"] == "LICENSE_REQUIRED":
        assert got["review_policy"] == want["review_policy"], got
    else:
        assert got["review_policy"] is None, got
    if "needs_facts" in want or want["outcome"] == "NEEDS_FACTS":
        assert [f["fact"] for f in got["needs_facts"]] == want["needs_facts"], got
    for text in want.get("obligations_include", []):
        assert any(text in o for o in got["obligations"]), got["obligations"]
    if "eccn" in want:
        assert got["eccn"] == want["eccn"], got
    assert got["posture"] == posture


def test_every_4e091_branch_is_covered():
    rules = {r for _, c in CASES for e in ([c["expect"]] if "outcome" in c["expect"] else c["expect"].values()) for r in e["rules"]}
    for rule in ("4E091", "4E091.note.published", "4E091.note.fine-tune", "4E091.note.synthetic-data", "4E091.note.floor",
                 "740.27.AIA.4E091", "742.6(b).4E091.D5-Macau", "742.6(a)(13).not-enforced", "90 FR 4544.compliance-date",
                 "3A090.a.note1.presumption", "3A090.a.note1.a", "3A090.a.note1.b", "3A090.a.note1.c",
                 "3A090.a.note1.not-applicable", "GP10", "GP10.technical-evaluation", "notice:h20-mi308-2025-04"):
        assert rule in rules, rule
