"""Regulatory cases for legal reach (tests/law/reach/cases/*.yaml).

Each case is a transaction (with its reach facts), one or more dates and postures, and per
(date, posture) the expected subject-to-the-EAR answer AND the paths that determined it, the
Part 744/746 requirements that hold, and where relevant the review policy, the facts asked, the
VEU answer with its rules, and the guidance flags."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from aiexport.io.transactions import Transaction
from aiexport.law.decide import prepare
from aiexport.law.reach import VeuAuthorization, fact_frame, reach_frame

HERE = Path(__file__).parent / "cases"
CASES = [c for f in sorted(HERE.glob("*.yaml")) for c in yaml.safe_load(f.read_text())]
POSTURES = ("enforced", "codified")
REQUIRED = ("subject", "subject_rules", "requirements")


def _fix(case: dict) -> dict:
    if True in case:  # YAML 1.1 reads a bare `on:` key as true
        case["on"] = case.pop(True)
    return case


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _expect(case: dict, day: dt.date, posture: str) -> dict:
    exp = case["expect"]
    for k in (f"{day}/{posture}", str(day), posture, day):
        if k in exp:
            return exp[k]
    if "subject" in exp:
        return exp
    raise KeyError(f"{case['name']}: no expectation for {day} / {posture}")


def instances():
    for case in map(_fix, CASES):
        for day in _as_list(case["on"]):
            day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
            for posture in _as_list(case.get("posture", list(POSTURES))):
                yield pytest.param(case, day, posture, id=f"{case['name']} @ {day} / {posture}")


def _transaction(case: dict, day: dt.date) -> dict:
    tx = {"id": "case", "date": day, "kind": "export", "from": "US", "quantity": 1, **case["tx"]}
    tx.setdefault("consignee", {"country": tx["to"]})
    return tx


def run(case: dict, day: dt.date, posture: str) -> dict:
    # the model directly: these cases test the reach rules, not the input loader
    txs = [Transaction.model_validate(_transaction(case, day))]
    frame = prepare(txs, posture=posture)
    frame = frame.with_columns(fact_frame(txs, source="case"))
    auths = {a["id"]: VeuAuthorization.model_validate(a) for a in case.get("veu", [])}
    return reach_frame(frame, posture=posture, authorizations=auths).row(0, named=True)


@pytest.mark.parametrize(("case", "day", "posture"), list(instances()))
def test_reach_case(case, day, posture):
    want = _expect(case, day, posture)
    for key in REQUIRED:
        assert key in want, f"case must assert {key}"
    got = run(case, day, posture)
    view = {k: got[k] for k in ("subject_to_ear", "subject_rules", "reach_requirement_rules", "reach_policy",
                                "reach_needs_facts", "veu_authorized", "veu_rules", "reach_flags")}
    assert got["subject_to_ear"] == want["subject"], view
    assert got["subject_rules"] == want["subject_rules"], view
    assert got["reach_requirement_rules"] == want["requirements"], view
    if want["requirements"]:
        assert "policy" in want and "policy_rule" in want, "a case with a requirement must assert its policy and policy_rule"
        assert got["reach_policy"] == want["policy"], view
        assert got["reach_policy_rule"] == want["policy_rule"], view
    else:
        assert got["reach_policy"] is None and got["reach_policy_rule"] is None, view
    if "needs" in want or want["subject"] is None:
        assert got["reach_needs_facts"] == want["needs"], view
    else:
        assert got["reach_needs_facts"] == [], view
    if "veu_authorization" in case["tx"].get("facts", {}):
        assert "veu" in want and "veu_rules" in want, "a VEU case must assert veu and veu_rules"
        assert got["veu_authorized"] == want["veu"], view
        assert got["veu_rules"] == want["veu_rules"], view
        assert got["veu_exceeded"] == want.get("exceeded", False), view
    else:
        assert got["veu_authorized"] is False and got["veu_rules"] == [], view
    assert got["reach_flags"] == want.get("flags", []), view
    for text in want.get("obligations_include", []):
        assert any(text in o for o in got["reach_obligations"]), got["reach_obligations"]
    if not want.get("veu"):
        assert got["reach_obligations"] == [], view


def test_the_four_named_cases_are_present():
    names = " ".join(c["name"] for c in CASES)
    for must in ("Chinese-designed 3A090 chip made in Taiwan", "Malaysian-assembled server with US-origin GPUs",
                 "below 3A090 for a supercomputer end use in China", "Data Center VEU site", "beyond its NVEU allocation"):
        assert must in names, must


def test_both_sides_of_every_reach_date():
    days = {p.values[1] for p in instances()}
    for boundary in ["2022-10-21", "2023-01-17", "2023-11-17", "2024-04-04", "2024-10-02", "2025-01-13", "2025-05-13",
                     "2025-05-15", "2025-09-29", "2025-11-10", "2026-11-10"]:
        b = dt.date.fromisoformat(boundary)
        assert b in days and (b - dt.timedelta(days=1)) in days, boundary
