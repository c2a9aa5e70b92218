"""Reforms as data: validation, the layered store, and what each bundled reform flips."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.commands.whatif import bundled_orders, whatif
from aiexport.engine.params import bundled_store, default_store, using_store
from aiexport.engine.reforms import load_reform, parse_reform
from aiexport.errors import InputError, InputErrors

runner = CliRunner()
DAY = dt.date(2026, 12, 1)
EXAMPLE, LAB = bundled_orders("example"), bundled_orders("policy-lab")


def _flips(res: dict, kind: str) -> dict[str, dict]:
    return {f["item"]: f for f in res["flips"] if f["kind"] == kind}


def _run(reform, posture, orders=LAB):
    return whatif(reform, on=DAY, posture=posture, chips=True, models=True, orders=orders)


# ---- reforms that change nothing -------------------------------------------------------------


@pytest.mark.parametrize("posture", ["enforced", "codified"])
@pytest.mark.parametrize("orders", [EXAMPLE, LAB])
def test_an_empty_reform_flips_nothing(posture, orders):
    reform = parse_reform({"name": "nothing", "rationale": "no change", "changes": []}, "empty.yaml")
    res = _run(reform, posture, orders)
    assert res["flips"] == []
    assert res["chips"]["count"] > 60 and res["models"]["count"] > 50 and res["orders"]["count"] >= 8
    assert reform.store is not bundled_store()


RESTATE = {
    "name": "the law restated",
    "rationale": "current law written as a reform",
    "changes": [
        {"name": "a.1 line", "rationale": "as in the CFR", "parameter": "tpp_a1", "value": 4800, "from": "2023-11-17",
         "cite": "88 FR 73458; 15 CFR 774 Supp. 1, 3A090.a.1"},
        {"name": "UAE to A:5", "rationale": "as in 91 FR 43034", "country": "AE", "add_to": ["A:5"], "from": "2026-07-10",
         "cite": "91 FR 43034"},
        {"name": "Diffusion text binds (codified)", "rationale": "as in the CFR", "rule": "742.6(a)(6)(iii)(A).worldwide",
         "enabled": True, "posture": "codified", "from": "2025-05-15", "cite": "90 FR 4544"},
        {"name": "LPP cap", "rationale": "as in the CFR", "parameter": "lpp_limit_tpp", "value": 26900000,
         "from": "2025-01-13", "cite": "90 FR 4544; 15 CFR 740.29(a)"},
    ],
}


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_a_reform_restating_the_law_flips_nothing(posture):
    res = _run(parse_reform(RESTATE, "restate.yaml"), posture, EXAMPLE)
    assert res["flips"] == []
    res = _run(parse_reform(RESTATE, "restate.yaml"), posture, LAB)
    assert res["flips"] == []


def test_the_reform_store_is_layered_and_never_mutates_the_law():
    reform = load_reform("tpp-2400")
    base = bundled_store()
    assert base.at("tpp_a1", DAY).value == 4800
    assert reform.store.at("tpp_a1", DAY).value == 2400
    assert reform.store.at("tpp_a1", DAY).cite.startswith("reform 'Lower 3A090.a.1 line to TPP 2,400'")
    assert reform.store.parameter("pd_a2") is base.parameter("pd_a2")  # untouched parameters are shared
    assert default_store() is base
    with using_store(reform.store):
        assert default_store() is reform.store
    assert default_store() is base


# ---- the bundled reforms flip what their rationale says --------------------------------------


def test_diffusion_enforced_as_written():
    reform = load_reform("diffusion-enforced")
    res = _run(reform, "enforced", EXAMPLE)
    orders, models = _flips(res, "order"), _flips(res, "model")
    big = orders["ORD-2025-008"]  # 2,000 H100 to India: over the LPP cap
    assert big["baseline"]["outcome"] == "NLR" and big["reform"]["outcome"] == "LICENSE_REQUIRED"
    assert "+742.6(a)(6)(iii)(A).worldwide" in big["rules"] and "+740.29.LPP.exceeded" in big["rules"]
    small = orders["ORD-2025-007"]  # 100 H100 to India: under the cap
    assert small["reform"]["license_exception"] == "LPP" and "+740.29.LPP" in small["rules"]
    de = orders["ORD-2025-009"]  # Tier 1
    assert de["reform"]["license_exception"] == "AIA"
    for name in ("GPT-4.5", "Grok 3", "Grok 4"):
        m = models[name]
        assert (m["baseline"]["outcome"], m["reform"]["outcome"], m["reform"]["review_policy"]) == ("NLR", "LICENSE_REQUIRED", "denial")
        assert "+742.6(a)(13)" in m["rules"] and "-742.6(a)(13).not-enforced" in m["rules"]
    assert "DeepSeek-V3" not in models and "Llama 3.1 405B" not in models  # published or below 10^26
    assert "ORD-2024-002" not in orders  # before the compliance date
    assert _flips(res, "chip") == {}  # the framework changes licensing, not classification
    assert _run(reform, "codified", EXAMPLE)["flips"] == []  # already the text


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_tpp_2400(posture):
    reform = load_reform("tpp-2400")
    res = _run(reform, posture)
    chips, orders = _flips(res, "chip"), _flips(res, "order")
    l40 = chips["NVIDIA L40 PCIe"]
    assert (l40["baseline"]["paragraph"], l40["reform"]["paragraph"]) == ("3A090.b.1", "3A090.a.1")
    assert "3A090.a.1: does not hold -> holds" in l40["rules"]
    assert l40["changes"] == ["3A090.a.1 at TPP 2,400"]
    assert chips["NVIDIA GeForce RTX 4090 D AIC (consumer, China)"]["reform"]["paragraph"] == "3A090.a.1"
    assert not any("H20" in name for name in chips)  # TPP 2,368: under even this line
    assert not any(name.startswith("NVIDIA H100") for name in chips)  # already 3A090.a.1
    l40_order = orders["PL-005"]
    assert (l40_order["baseline"]["license_exception"], l40_order["reform"]["outcome"]) == ("NAC", "LICENSE_REQUIRED")
    assert "+740.8.not-eligible" in l40_order["rules"] and "+3A090.a.1" in l40_order["rules"]
    assert "PL-006" not in orders  # the H20 order
    assert _flips(res, "model") == {}


def test_tpp_2400_from_a_date_flips_only_from_that_date():
    data = {"name": "late line", "rationale": "x", "changes": [
        {"name": "a.1 at 2400", "rationale": "x", "parameter": "tpp_a1", "value": 2400, "from": "2025-01-01", "proposal": True}]}
    reform = parse_reform(data, "late.yaml")
    before = whatif(reform, on=dt.date(2024, 12, 31), posture="enforced", chips=True, models=False)
    after = whatif(reform, on=dt.date(2025, 1, 1), posture="enforced", chips=True, models=False)
    assert before["flips"] == []
    assert "NVIDIA L40 PCIe" in _flips(after, "chip")


def test_eu_tier1_only_where_the_diffusion_rule_binds():
    reform = load_reform("eu-tier1")
    assert _run(reform, "enforced")["flips"] == []  # BIS does not enforce the Diffusion rule
    res = _run(reform, "codified")
    orders = _flips(res, "order")
    pt = orders["PL-002"]  # 2,000 H100 to Portugal: over the LPP cap, a Tier-2 licence
    assert (pt["baseline"]["outcome"], pt["reform"]["license_exception"]) == ("LICENSE_REQUIRED", "AIA")
    assert "+740.27.AIA" in pt["rules"] and "-740.29.LPP.exceeded" in pt["rules"]
    assert orders["PL-001"]["reform"]["license_exception"] == "AIA"  # Poland: LPP -> AIA
    assert "PL-004" not in orders and "PL-007" not in orders  # Germany already Tier 1; India not in the EU
    counts = {(r["destination"], r["outcome"]): r for r in res["orders"]["by_destination_and_outcome"]}
    assert counts[("PT", "LICENSE_REQUIRED")]["baseline"] == 1 and counts[("PT", "LICENSE_REQUIRED")]["reform"] == 0
    assert counts[("PT", "LICENSE_EXCEPTION")]["reform"] == 1


# ---- validation ------------------------------------------------------------------------------


def _error(data) -> InputError:
    with pytest.raises((InputError, InputErrors)) as info:
        parse_reform(data, "r.yaml")
    e = info.value
    return e.errors[0] if isinstance(e, InputErrors) else e


def _change(**kw):
    return {"name": "r", "rationale": "x", "changes": [{"name": "c", "rationale": "y", **kw}]}


def test_unknown_parameter_names_the_change_and_suggests():
    e = _error(_change(parameter="tpp_a", value=1, cite="x"))
    assert (e.file, e.row, e.column) == ("r.yaml", 1, "parameter") and "tpp_a1" in e.expected


def test_a_change_needs_a_citation_or_proposal():
    e = _error(_change(parameter="tpp_a1", value=1))
    assert e.row == 1 and "proposal" in e.expected


def test_unknown_group_country_rule_and_field():
    assert "Tier1" in _error(_change(country="PL", add_to=["Tier 1"], cite="x")).expected
    assert "alpha-2" in _error(_change(country="XX", add_to=["Tier1"], cite="x")).expected
    assert "China" in _error(_change(country="HK", add_to=["Tier1"], cite="x")).expected
    assert "ai-diffusion" in _error(_change(rule="ai-difusion", enabled=True, cite="x")).expected
    e = _error(_change(parameter="tpp_a1", value=1, cite="x", valeu=2))
    assert e.column == "valeu" and "value" in e.expected


def test_a_value_must_fit_the_parameter():
    e = _error(_change(parameter="tpp_a1", value="lots", cite="x"))
    assert e.column == "value" and "number" in e.expected
    assert "true or false" in _error(_change(parameter="nac_available", value=3, cite="x")).expected


def test_bad_reform_file_exits_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nrationale: y\nchanges:\n  - {name: a, rationale: b, parameter: tpp_aa1, value: 1, cite: c}\n")
    r = runner.invoke(app, ["whatif", str(p), "--chips"])
    assert r.exit_code == 2 and "tpp_a1" in r.output and "row 1" in r.output
    r = runner.invoke(app, ["whatif", "no-such-reform", "--chips"])
    assert r.exit_code == 2 and "tpp-2400" in r.output
    r = runner.invoke(app, ["whatif", "tpp-2400", "--models", "--model-to", "ZZ"])
    assert r.exit_code == 2 and "--model-to" in r.output
    r = runner.invoke(app, ["whatif", "tpp-2400", "--orders", "nowhere.yaml"])
    assert r.exit_code == 2 and "policy-lab" in r.output


def test_cli_json_contract():
    r = runner.invoke(app, ["whatif", "tpp-2400", "--chips", "--on", "2026-12-01", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["reform"].startswith("Lower") and data["on"] == "2026-12-01"
    flip = next(f for f in data["flips"] if f["item"] == "NVIDIA L40 PCIe")
    assert set(flip) >= {"kind", "item", "baseline", "reform", "rules", "changes"}


def test_a_notice_change_applies_to_the_order_book():
    data = {"name": "H20 letter", "rationale": "x", "changes": [{
        "name": "H20 to China needs a licence", "rationale": "an is-informed letter", "cite": "hypothetical letter",
        "notice": {"id": "h20-test", "title": "H20 letter", "status": "reported", "cite": "hypothetical letter",
                   "from": "2025-04-09", "applies_to": {"chips": ["H20"], "destinations": ["CN"]},
                   "phases": [{"from": "2025-04-09", "review_policy": "denial"}]}}]}
    reform = parse_reform(data, "notice.yaml")
    res = whatif(reform, on=DAY, posture="enforced", chips=True, models=False, orders=LAB)
    flips = _flips(res, "order")
    assert set(flips) == {"PL-006"}  # the H20 order, and nothing else
    h20 = flips["PL-006"]
    assert (h20["baseline"]["outcome"], h20["reform"]["outcome"], h20["reform"]["review_policy"]) == ("NLR", "LICENSE_REQUIRED", "denial")
    assert "+notice:h20-test" in h20["rules"]
    assert _flips(res, "chip") == {}  # a notice changes licensing, not classification


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_switching_off_license_exception_nac(posture):
    data = {"name": "no NAC", "rationale": "x", "changes": [
        {"name": "NAC off", "rationale": "y", "rule": "740.8.NAC", "enabled": False, "from": "2026-01-01", "proposal": True}]}
    reform = parse_reform(data, "nac.yaml")
    res = whatif(reform, on=DAY, posture=posture, chips=False, models=False, orders=LAB)
    l40 = _flips(res, "order")["PL-005"]
    assert (l40["baseline"]["license_exception"], l40["reform"]["outcome"]) == ("NAC", "LICENSE_REQUIRED")
    assert "-740.8.NAC" in l40["rules"]
    before = whatif(reform, on=DAY, posture=posture, chips=False, models=False, orders=LAB, order_on=dt.date(2025, 12, 31))
    assert "PL-005" not in _flips(before, "order")  # the day before the change


def test_cli_csv_and_html():
    r = runner.invoke(app, ["whatif", "eu-tier1", "--orders", "policy-lab", "--posture", "codified", "--format", "csv"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[0] == "kind,item,on,what,baseline,reform,rules,changes" and len(lines) == 4
    r = runner.invoke(app, ["whatif", "eu-tier1", "--orders", "policy-lab", "--format", "html"])
    assert r.exit_code == 0 and r.output.startswith("<!DOCTYPE html>") and "Order lines that flip: 0 of 8" in r.output


def test_an_unquoted_no_is_caught_with_a_hint():
    e = _error(_change(country=["NO", False], add_to=["Tier1"], cite="x"))
    assert (e.row, e.column) == (1, "country.1") and '"NO"' in e.expected
    e = _error({"name": "x", "changes": []})
    assert e.column == "rationale" and "required" in e.expected


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_switching_off_gp10(posture):
    data = {"name": "no GP10", "rationale": "x", "changes": [
        {"name": "GP10 off", "rationale": "y", "rule": "GP10", "enabled": False, "proposal": True}]}
    res = whatif(parse_reform(data, "gp10.yaml"), on=DAY, posture=posture, chips=False, models=False, orders=EXAMPLE)
    flips = _flips(res, "order")
    assert set(flips) == {"ORD-2025-015"}  # the Ascend 910C order, and only it
    assert "-GP10" in flips["ORD-2025-015"]["rules"]


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_the_reform_line_is_met_at_2400_and_not_a_micro_unit_below(tmp_path, posture):
    from aiexport.io.specs import read_specs
    from aiexport.law.classify import classify_frame

    p = tmp_path / "specs.yaml"
    p.write_text("- {name: on-line, tpp: 2400, die_area_mm2: 1000, marketed_for_datacenter: yes}\n"
                 "- {name: under, tpp: '2399.999999', die_area_mm2: 1000, marketed_for_datacenter: yes}\n")
    frame = read_specs(p).frame
    base = classify_frame(frame, on=DAY, posture=posture)["paragraph"].to_list()
    with using_store(load_reform("tpp-2400").store):
        reform = classify_frame(frame, on=DAY, posture=posture)["paragraph"].to_list()
    assert base == ["3A090.b.1", None]  # PD 2.4: b.1 from TPP 2,400; below it neither b.1 nor b.2 (PD < 3.2)
    assert reform == ["3A090.a.1", None]
