"""End-to-end: `aiexport models`, `models estimate`, `rules timeline|diff|show`, `check` with models and notices."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.commands.check import example_orders

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "220"})


def js(*args: str):
    r = run(*args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_models_catalog_policy_reader_view():
    recs = {r["model"]: r for r in js("models", "--on", "2025-06-01")}
    ds = recs["DeepSeek-V3"]
    assert ds["training_operations_exact"] == "3.4078E+24" or float(ds["training_operations_exact"]) == 3.4078e24
    assert ds["status"] == "below 10^26" and ds["eccn"] is None and ds["times_below_threshold"] > 25
    llama = recs["Llama 3.1-405B"]
    assert float(llama["training_operations_exact"]) == 3.8e25 and llama["status"] == "below 10^26" and llama["published"] is True
    above = {m: r for m, r in recs.items() if r["share_of_threshold"] and r["share_of_threshold"] >= 1}
    assert set(above) == {"GPT-4.5", "Grok 3"}  # Grok 4 (released 2025-07-09) is not listed on 2025-06-01
    assert "Grok 4" not in recs
    for r in above.values():
        assert r["published"] is False and r["eccn"] == "4E091" and "closed" in r["status"]
    assert recs["Claude Opus 4"]["status"] == "needs training_operations"
    table = run("models", "--on", "2025-06-01").output
    assert "GPT-4.5" in table and "3.8× above" in table and "Epoch AI" in table


def test_models_before_4e091_existed():
    recs = {r["model"]: r for r in js("models", "--on", "2024-12-01")}
    assert "GPT-4.5" not in recs  # released 2025-02-27
    assert recs["GPT-4o"]["status"] == "4E091 not in force" and recs["GPT-4o"]["eccn"] is None
    assert all(r["status"] == "4E091 not in force" for r in recs.values())


@pytest.mark.parametrize(
    ("args", "expected", "formula"),
    [
        (["--active-parameters", "37e9", "--tokens", "14.8e12"], 6 * 37e9 * 14.8e12, "active parameters"),
        (["--parameters", "405e9", "--tokens", "15.6e12"], 6 * 405e9 * 15.6e12, "6 × parameters × tokens (dense)"),
        (["--gpu-hours", "1e6", "--chip", "H100 SXM", "--precision", "fp8", "--utilisation", "0.3"], 1e6 * 3600 * 1979e12 * 0.3, "FP8"),
    ],
)
def test_estimate_is_labelled_with_its_formula(args, expected, formula):
    rec = js("models", "estimate", *args)[0]
    assert rec["estimate"] is True and formula in rec["formula"]
    assert rec["operations"] == pytest.approx(expected, rel=1e-12)
    assert rec["at_or_above_threshold"] is (expected >= 1e26)
    out = run("models", "estimate", *args).output
    assert "ESTIMATE" in out and "formula:" in out


def test_estimate_default_utilisation_is_marked_assumed():
    rec = js("models", "estimate", "--gpu-hours", "2.788e6", "--chip", "H800 SXM", "--precision", "fp8")[0]
    assert "assumed default" in rec["formula"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["models", "estimate", "--tokens", "1e12"], "--tokens / --gpu-hours"),
        (["models", "estimate", "--parameters", "lots", "--tokens", "1e12"], "column '--parameters'"),
        (["models", "estimate", "--gpu-hours", "10", "--chip", "A100 SXM", "--precision", "fp8"], "a precision the catalog lists"),
        (["rules", "show", "tpp_a9"], "expected a parameter name"),
        (["rules", "diff", "2023-13-01", "2024-01-01"], "DATE1"),
    ],
)
def test_bad_input_exit_2(args, needle):
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.output.replace("\n", " "), r.output


def test_rules_timeline_lists_every_version_with_status():
    recs = js("rules", "timeline")
    versions = {r["id"]: r for r in recs if "id" in r}
    for rid in ("R1", "R2", "R5", "R6", "R7", "R8", "R9", "R10", "E2", "E6"):
        assert rid in versions
    assert versions["R6"]["compliance"] == "2025-05-15" and "not enforced since 2025-05-13" in versions["R6"]["status"]
    assert versions["R9"]["cite"].startswith("91 FR 17851") and versions["R9"]["effective"] == "2026-04-07"
    assert versions["R2"]["status"] == "in the CFR and enforced"
    notices = [r["notice"] for r in recs if "notice" in r]
    assert notices[0]["id"] == "h20-mi308-2025-04" and notices[0]["enabled_by_default"] is False and notices[0]["status"] == "reported"


def test_rules_show_parameter_value_citation_history():
    rec = js("rules", "show", "authorized_designer_cutoff", "--on", "2026-04-07")[0]
    assert rec["value"] == "2026-12-31" and rec["cite"].startswith("91 FR 17851")
    assert [h["value"] for h in rec["history"]] == ["2026-04-13", "2026-12-31"]
    before = js("rules", "show", "authorized_designer_cutoff", "--on", "2026-04-06")[0]
    assert before["value"] == "2026-04-13"
    grp = js("rules", "show", "D:5", "--on", "2025-01-01")[0]
    assert "CN" in grp["value"] and "CY" not in grp["value"]


def _diff(*args):
    return js("rules", "diff", *args)[0]


def test_diff_order_book_2023_11_16_to_17_flips_the_a800_to_china():
    d = _diff("2023-11-16", "2023-11-17", "--orders", str(example_orders()))
    # R2: the 2023 AC/S rule's CCL changes; X5: the same rule's §734.9(h)/§744.23 changes (reach)
    assert [v["id"] for v in d["rule_versions"]] == ["R2", "X5"]
    params = {p["parameter"]: p for p in d["parameters"]}
    assert params["tpp_a1"]["after"] == 4800 and params["io_rate_2022"]["after"] is None
    changed = {c["id"]: c for c in d["outcomes_changed"]}
    a800 = changed["ORD-2023-001"]
    assert a800["before"]["outcome"] == "NLR" and a800["after"]["outcome"] == "LICENSE_REQUIRED"
    assert "3A090.a(2022).interconnect" in a800["rules_removed"] and "742.6(a)(6)(iii)" in a800["rules_added"]
    assert changed["ORD-2024-004"]["after"]["license_exception"] == "NAC"
    assert "ORD-2026-010" not in changed  # the H200 order is judged the same on both dates
    assert d["orders_count"] == 16


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_diff_order_book_2025_05_12_to_14(posture):
    d = _diff("2025-05-12", "2025-05-14", "--orders", str(example_orders()), "--posture", posture)
    changed = {c["id"]: c for c in d["outcomes_changed"]}
    assert set(changed) == {"ORD-2025-015"}  # GP10 reaches the Ascend 910C resale under both postures
    gp10 = changed["ORD-2025-015"]
    assert gp10["before"]["outcome"] == "NLR" and gp10["after"]["outcome"] == "LICENSE_REQUIRED" and "GP10" in gp10["rules_added"]
    params = {p["parameter"] for p in d["parameters"]}
    assert "gp10_prc_ic_presumption" in params
    if posture == "enforced":
        # E2: the rescission announcement; X8: the same day's AI-training guidance (reach, enforced only)
        assert [v["id"] for v in d["rule_versions"]] == ["E2", "X8"]
        assert "model_weights_not_enforced" in params
        assert d["rule_set"] == {"from": "R7:2025-01-16", "to": "E2:2025-05-13"}
    else:
        assert d["rule_versions"] == [] and "model_weights_not_enforced" not in params


def test_diff_codified_2025_05_14_to_15_binds_the_model_order():
    d = _diff("2025-05-14", "2025-05-15", "--orders", str(example_orders()), "--posture", "codified")
    changed = {c["id"]: c for c in d["outcomes_changed"]}
    assert changed["ORD-2025-016"]["after"]["outcome"] == "LICENSE_REQUIRED"
    assert "742.6(a)(13)" in changed["ORD-2025-016"]["rules_added"]


def test_diff_catalog_to_china_2023_11_01_to_12_01_flips_a800_and_h800():
    d = _diff("2023-11-01", "2023-12-01")
    changed = {c["item"]: c for c in d["outcomes_changed"]}
    for name in ("NVIDIA A800 SXM4 80GB", "NVIDIA H800 SXM5 80GB"):
        assert changed[name]["before"]["outcome"] == "NLR" and changed[name]["after"]["outcome"] == "LICENSE_REQUIRED", name
    assert "NVIDIA H100 SXM5 80GB" not in changed  # already licensed to China under the 2022 rule


def write(tmp_path: Path, data, name="orders.yaml") -> Path:
    f = tmp_path / name
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    return f


def test_check_models_and_bad_model_input(tmp_path):
    f = write(tmp_path, [
        {"id": "m1", "date": "2025-06-01", "from": "US", "to": "CN", "item": {"model": "DeepSeek-V3"}, "consignee": {"country": "CN"}},
        {"id": "m2", "date": "2025-06-01", "from": "US", "to": "CN", "item": {"model_facts": {"training_operations": "2e26", "published": "no"}},
         "consignee": {"country": "CN"}},
        {"id": "c1", "date": "2025-06-01", "from": "US", "to": "CN", "item": {"chip": "H100 SXM"}, "consignee": {"country": "CN"}},
    ])
    recs = {r["id"]: r for r in js("check", str(f), "--posture", "codified")}
    assert recs["m1"]["outcome"] == "NLR" and recs["m1"]["eccn"] is None
    assert recs["m2"]["eccn"] == "4E091" and recs["m2"]["review_policy"] == "denial"
    assert recs["c1"]["eccn"] == "3A090.a" and list(recs) == ["m1", "m2", "c1"]
    bad = write(tmp_path, [{"id": "b", "date": "2025-06-01", "from": "US", "to": "CN", "consignee": {"country": "CN"},
                            "item": {"model_facts": {"training_operations": "lots"}}}], "bad.yaml")
    r = run("check", str(bad))
    assert r.exit_code == 2 and "row 1, column 'item.model_facts.training_operations'" in r.output.replace("\n", " ")
    bad2 = write(tmp_path, [{"id": "b", "date": "2025-06-01", "from": "US", "to": "CN", "consignee": {"country": "CN"},
                             "item": {"model": "NoSuchModel"}}], "bad2.yaml")
    r = run("check", str(bad2))
    assert r.exit_code == 2 and "column 'item.model'" in r.output.replace("\n", " ")


def test_check_with_bundled_and_user_notices(tmp_path):
    f = write(tmp_path, [{"id": "h", "date": "2025-06-01", "from": "US", "to": "CN", "item": {"chip": "H20"}, "consignee": {"country": "CN"}}])
    assert js("check", str(f))[0]["outcome"] == "NLR"
    rec = js("check", str(f), "--notice", "h20-mi308-2025-04")[0]
    assert rec["outcome"] == "LICENSE_REQUIRED" and rec["rules"] == ["notice:h20-mi308-2025-04"]
    user = write(tmp_path, [{"id": "acme-letter", "cite": "Letter from BIS to Acme Corp, 2025-05-01 (private)", "from": "2025-05-01",
                             "status": "company-specific", "applies_to": {"chips": ["H20"], "destinations": ["D:5"]},
                             "phases": [{"from": "2025-05-01", "review_policy": "denial"}]}], "notices.yaml")
    rec = js("check", str(f), "--notices", str(user))[0]
    assert rec["rules"] == ["notice:acme-letter"] and rec["review_policy"] == "denial"
    assert any("Letter from BIS to Acme Corp" in o for o in rec["obligations"])
    bad = write(tmp_path, [{"id": "x", "from": "2025-05-01", "applies_to": {"chips": ["H20"]}}], "badnotice.yaml")
    r = run("check", str(f), "--notices", str(bad))
    assert r.exit_code == 2 and "column 'cite'" in r.output
    r = run("check", str(f), "--notice", "nope")
    assert r.exit_code == 2 and "bundled notice id" in r.output


def test_explain_model_memo():
    r = run("explain", str(example_orders()), "--id", "ORD-2025-016", "--posture", "codified")
    assert r.exit_code == 0, r.output
    for needle in ("Determination memo", "4E091.note.published", "742.6(a)(13)", "LICENSE_REQUIRED", "Under the enforced posture", "not-enforced"):
        assert needle in r.output, needle


def test_demo_shows_the_timeline():
    r = run("demo")
    assert r.exit_code == 0, r.output
    assert "aiexport rules timeline" in r.output and "91 FR 17851" in r.output


def test_models_on_a_date_leaves_out_models_released_after_it():
    from aiexport.commands.models import catalog_records

    early = catalog_records(dt.date(2024, 6, 1))
    assert early and all(r["released"] is None or str(r["released"])[:10] <= "2024-06-01" for r in early)
    names = {r["model"] for r in early}
    assert "GPT-4o" in names and "Grok 4" not in names  # 2024-05-13 in, 2025-07-09 out
    assert len(catalog_records(dt.date(2026, 6, 1))) > len(early)
