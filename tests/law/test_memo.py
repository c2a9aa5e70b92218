"""The memo's data (issue 9): assumptions, failed exception conditions, rule roles, citation order."""

from __future__ import annotations

import datetime as dt

from aiexport.io.transactions import parse
from aiexport.law.decide import decide, records, rule_info
from aiexport.law.memo import build


def _row(tx: dict, posture: str = "enforced") -> dict:
    raw = {"id": "m", "kind": "export", "from": "US", "quantity": 1, **tx}
    raw.setdefault("consignee", {"country": raw["to"]})
    txs, errors, _ = parse([raw], "memo")
    assert not errors, errors
    return decide(txs, posture=posture, explain=True).row(0, named=True)


def test_failed_acm_names_its_condition_and_assumptions_come_first():
    row = _row({"date": dt.date(2025, 6, 1), "to": "VN", "item": {"chip": "H100 SXM"}, "facts": {"purpose": "resale"}})
    memo = build(row, "enforced", rule_info)
    assert memo["assumptions"][0].startswith("The item is subject to the EAR")
    acm = next(e for e in memo["exceptions"] if e["exception"] == "ACM")
    assert acm["status"] == "failed" and "end use 'resale' is not development, production or storage" in acm["why"]
    row2 = _row({"date": dt.date(2025, 6, 1), "to": "VN", "item": {"chip": "H100 SXM"},
                 "facts": {"purpose": "production", "ultimate_customers_outside_d5_macau": "no"}})
    acm2 = next(e for e in build(row2, "enforced", rule_info)["exceptions"] if e["exception"] == "ACM")
    assert acm2["status"] == "failed" and "Macau/D:5" in acm2["why"]
    # the enforced-posture setting used by default is stated as an assumption
    assert any(a.startswith("rely_on_codified_exceptions: yes") for a in build(row2, "enforced", rule_info)["assumptions"])


def test_designer_default_is_an_assumption():
    row = _row({"date": dt.date(2025, 6, 1), "to": "JP", "item": {"chip": "Ascend 910B"}, "facts": {"gp10_technical_evaluation": "yes"}},
               "codified")
    memo = build(row, "codified", rule_info)
    assert any("approved or authorized designer: no — designer headquartered in CN" in a for a in memo["assumptions"])
    aia = next(e for e in memo["exceptions"] if e["exception"] == "AIA")
    assert aia["status"] == "failed" and "CN" in aia["why"]
    nvidia = build(_row({"date": dt.date(2025, 6, 1), "to": "JP", "item": {"chip": "H100 SXM"}}, "codified"), "codified", rule_info)
    assert any("approved or authorized designer: yes — derived from the designer's headquarters (US" in a for a in nvidia["assumptions"])


def test_nlr_lists_the_requirements_whose_absence_decides_it_labelled():
    rec = records(decide(parse([{"id": "n", "date": "2024-06-01", "kind": "export", "from": "US", "to": "MY", "quantity": 1,
                                 "item": {"chip": "H100 SXM"}, "consignee": {"country": "MY"}}], "n")[0]))[0]
    assert rec["outcome"] == "NLR"
    assert list(zip(rec["rules"], rec["basis"], strict=True)) == [
        ("3A090.a.1", "classification"), ("742.6(a)(6)(iii)", "requirement-not-met"), ("744.23(a)(3).headquarters", "requirement-not-met")]
    lic = records(decide(parse([{"id": "l", "date": "2024-06-01", "kind": "export", "from": "US", "to": "CN", "quantity": 1,
                                 "item": {"chip": "H100 SXM"}, "consignee": {"country": "CN"}}], "l")[0]))[0]
    assert lic["basis"] == ["classification", "requirement", "requirement", "exception-unavailable", "review-policy"]


def test_paragraph_in_force_is_cited_first_and_later_guidance_as_confirmation():
    row = _row({"date": dt.date(2025, 6, 1), "to": "SG", "item": {"chip": "H100 SXM"},
                "consignee": {"country": "SG", "ultimate_parent_headquarters": "CN"}})
    hq = next(d for d in build(row, "enforced", rule_info)["determining"] if d["rule"] == "742.6(a)(6)(iii)(A).headquarters")
    assert hq["citation"].startswith("15 CFR 742.6(a)(6)(iii)(A)")
    assert "confirmed by later guidance — BIS guidance of 2026-05-31" in hq["citation"]
    late = _row({"date": dt.date(2026, 6, 2), "to": "SG", "item": {"chip": "H100 SXM"},
                 "consignee": {"country": "SG", "ultimate_parent_headquarters": "CN"}})
    hq2 = next(d for d in build(late, "enforced", rule_info)["determining"] if d["rule"] == "742.6(a)(6)(iii)(A).headquarters")
    assert "confirmed by later" not in hq2["citation"] and "2026-05-31" in hq2["citation"]


def test_foundry_memo_says_the_presumption_prevails_over_the_datasheet():
    row = _row({"date": dt.date(2025, 6, 1), "to": "JP", "from": "TW", "item": {"chip": "H20"},
                "facts": {"exporter_role": "front-end fabricator", "process_node_nm": 4}})
    assert row["eccn"] == "3A090.a"
    assert any("prevails over the datasheet classification" in (r["detail"] or "") for r in row["item_reasons"])


def test_91fr1684_memo_lists_every_condition():
    rec = records(decide(parse([{"id": "h", "date": "2026-02-10", "kind": "export", "from": "US", "to": "CN", "quantity": 8,
                                 "item": {"chip": "H200"}, "consignee": {"country": "CN"}}], "h")[0]))[0]
    text = " ".join(rec["obligations"])
    for words in ("commercially available", "units you have shipped to US end-use customers", "below the thresholds",
                  "does not delay US orders", "foundry capacity", "50 %", "third-party testing", "know-your-customer",
                  "remote-access", "reexports"):
        assert words in text, words


def test_model_weights_memo_states_its_defaults():
    from aiexport.law.memo import assumptions

    row = _row({"date": dt.date(2025, 6, 1), "to": "IN", "item": {"model_facts": {
        "name": "FT", "base_model": "B", "base_operations": "3.8e25", "base_published": "yes", "fine_tune_operations": "2e25"}}}, "codified")
    got = assumptions(row, "codified")
    assert got[0].startswith("The item is subject to the EAR")
    assert any("25 % of the base model's operations" in a for a in got)
    assert any("floor: not set" in a for a in got)
    stated = _row({"date": dt.date(2025, 6, 1), "to": "IN", "item": {"model_facts": {
        "name": "FT", "base_model": "B", "base_operations": "3.8e25", "base_published": "yes", "fine_tune_operations": "2e25",
        "fine_tune_share_basis": "total"}}}, "codified")
    assert not any("25 % of the base" in a for a in assumptions(stated, "codified"))


def test_explain_shows_the_subject_to_the_ear_step_before_the_classification(tmp_path):
    """Issue 10: the memo starts with "is the item subject to the EAR, and by which path"."""
    from typer.testing import CliRunner

    from aiexport.cli import app

    orders = tmp_path / "o.yaml"
    orders.write_text(
        "- {id: FDP-1, date: 2024-01-15, kind: reexport, from: TW, to: SG, item: {chip: Biren BR104}, quantity: 1,\n"
        "   consignee: {name: Lotus Compute, country: SG, headquarters: MO},\n"
        "   facts: {made_in: TW, made_by_us_tool_plant: 'no', direct_product_of_us_technology: 'no', us_controlled_content_share: 0}}\n"
    )
    r = CliRunner().invoke(app, ["explain", str(orders), "--id", "FDP-1"], env={"COLUMNS": "200", "AIEXPORT_ACTOR": "a"})
    assert r.exit_code == 0, r.output
    out = r.output
    assert "0a. Is the item subject to the EAR?" in out and "1. Classification of the item" in out
    assert out.index("0a. Is the item subject to the EAR?") < out.index("1. Classification of the item")
    assert "NOT subject to the EAR" in out and "734.3.not-subject" in out
