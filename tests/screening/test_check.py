"""Screening feeds the determination: `check` and `explain` with listed parties, both postures."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from aiexport.cli import app

from .conftest import CSL_BIS, FIXTURES, need

runner = CliRunner()
V1 = FIXTURES / "csl_v1.csv"
POSTURES = ("enforced", "codified")
# H100s to Germany in September 2025 by the item rules alone: NLR as enforced; under the codified
# Diffusion text Germany (Tier 1) takes License Exception AIA.
UNLISTED = {"enforced": "NLR", "codified": "LICENSE_EXCEPTION"}


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./aiexport.db from elsewhere
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AIEXPORT_CACHE_DIR": str(tmp_path / "cache"),
           "AIEXPORT_ACTOR": "officer.jane", "COLUMNS": "250"}

    def run(*args: str):
        return runner.invoke(app, list(args), env=env)

    return run


def order(tmp_path, consignee: dict, end_user: dict | None = None, oid: str = "O1", to: str = "DE"):
    tx = {"id": oid, "date": "2025-09-01", "kind": "export", "from": "US", "to": to,
          "item": {"chip": "H100 SXM"}, "quantity": 8, "consignee": consignee}
    if end_user:
        tx["end_user"] = end_user
    f = tmp_path / f"{oid}.yaml"
    f.write_text(yaml.safe_dump([tx], sort_keys=False))
    return f


def check(cli, f, posture, *extra):
    r = cli("check", str(f), "--format", "json", "--posture", posture, *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)[0], r


@pytest.mark.parametrize("posture", POSTURES)
def test_not_screened_without_lists_says_so_and_changes_nothing(cli, tmp_path, posture):
    f = order(tmp_path, {"name": "Huawei Technologies Duesseldorf GmbH", "country": "DE"})
    rec, r = check(cli, f, posture)
    assert rec["outcome"] == UNLISTED[posture]
    assert "NOT screened" in r.stderr


@pytest.mark.parametrize("posture", POSTURES)
def test_entity_list_hit_requires_a_license_under_744_11(cli, tmp_path, posture):
    assert cli("lists", "load", str(V1)).exit_code == 0
    # the exact listed name: a hit until an officer disposes of it
    f = order(tmp_path, {"name": "Huawei Technologies Dusseldorf GmbH", "country": "DE"})
    rec, _ = check(cli, f, posture)
    assert rec["outcome"] == "LICENSE_REQUIRED" and "744.11" in rec["rules"]
    assert rec["review_policy"] == "denial" and rec["license_exception"] is None
    assert any("734.9(e)(1)" in o for o in rec["obligations"])  # footnote 1 read, not stripped
    assert any("§§ 734.9(e) 1 and 744.11" in o for o in rec["obligations"])  # the entry's requirement


@pytest.mark.parametrize("posture", POSTURES)
def test_undisposed_match_is_needs_facts_then_dispositions_decide(cli, tmp_path, posture):
    assert cli("lists", "load", str(V1)).exit_code == 0
    party = "Huawei Technologies Duesseldorf"  # a variant spelling: potential match, not exact
    f = order(tmp_path, {"name": party, "country": "DE"})
    rec, _ = check(cli, f, posture)
    assert rec["outcome"] == "NEEDS_FACTS"
    assert rec["rules"] == ["3A090.a.1", "screening.potential-match"]  # the item's paragraph, then the open match
    need_ = rec["needs_facts"][0]
    assert need_["fact"] == "screening:EL:t-hw-dus:consignee" and "Huawei Technologies Dusseldorf GmbH" in need_["question"]
    # false positive -> the item rules decide again (NLR)
    r = cli("disposition", "add", "--party", party, "--country", "DE", "--entry", "t-hw-dus", "--status", "false_positive",
            "--reason", "a different company (registry extract)")
    assert r.exit_code == 0, r.output
    assert check(cli, f, posture)[0]["outcome"] == UNLISTED[posture]
    # confirmed -> LICENSE_REQUIRED under 744.11
    r = cli("disposition", "add", "--party", party, "--country", "DE", "--entry", "t-hw-dus", "--status", "confirmed",
            "--reason", "same registration number")
    assert r.exit_code == 0
    rec = check(cli, f, posture)[0]
    assert rec["outcome"] == "LICENSE_REQUIRED" and "744.11" in rec["rules"]


def test_a_clear_party_keeps_the_item_decision(cli, tmp_path):
    assert cli("lists", "load", str(V1)).exit_code == 0
    f = order(tmp_path, {"name": "Blue Lake Bakery GmbH", "country": "DE"})
    for posture in POSTURES:
        rec, r = check(cli, f, posture)
        assert rec["outcome"] == UNLISTED[posture] and "NOT screened" not in r.stderr


@pytest.mark.parametrize(
    "parties, outcome, rule, policy",
    [
        ({"consignee": {"name": "Blue Lake GmbH", "country": "DE"},
          "end_user": {"name": "Northstar Avionics Supply", "country": "CY"}}, "LICENSE_REQUIRED", "764.3", "denial"),
        ({"consignee": {"name": "Kazan Optical Systems Plant", "country": "RU"}}, "LICENSE_REQUIRED", "744.21", "denial"),
        ({"consignee": {"name": "Blue Lake GmbH", "country": "DE", "ultimate_parent": "Redstone Logistics LLC",
                        "ultimate_parent_headquarters": "RU"}},
         "LICENSE_REQUIRED", "OFAC", "denial"),
        ({"consignee": {"name": "Sunrise Microtech Co., Ltd.", "country": "CN"}}, None, "744.15", None),
    ],
)
def test_each_list_has_its_own_rule(cli, tmp_path, parties, outcome, rule, policy):
    assert cli("lists", "load", str(V1)).exit_code == 0
    to = parties["consignee"]["country"]
    f = order(tmp_path, parties["consignee"], parties.get("end_user"), to=to)
    for posture in POSTURES:
        rec, _ = check(cli, f, posture)
        assert rule in rec["rules"], rec
        if outcome:
            assert rec["outcome"] == outcome and rec["review_policy"] == policy
        else:  # UVL: an H100 to China needs a licence anyway; the UVL rule adds its obligations
            assert rec["outcome"] == "LICENSE_REQUIRED"
            assert any("No license exception" in o for o in rec["obligations"])


def test_uvl_party_of_an_nlr_order_needs_the_uvl_statement(cli, tmp_path):
    assert cli("lists", "load", str(V1)).exit_code == 0
    f = order(tmp_path, {"name": "Sunrise Microtech Co., Ltd.", "country": "DE"}, to="DE")
    rec, _ = check(cli, f, "enforced")
    # the country differs from the entry's (CN): not exact, so the match is first an open one
    assert rec["outcome"] == "NEEDS_FACTS"
    cli("disposition", "add", "--party", "Sunrise Microtech Co., Ltd.", "--country", "DE", "--entry", "t-uvl",
        "--status", "confirmed", "--reason", "same company, German branch")
    rec, _ = check(cli, f, "enforced")
    assert rec["outcome"] == "NEEDS_FACTS" and rec["rules"] == ["3A090.a.1", "744.15"]
    assert rec["needs_facts"][0]["fact"].startswith("screening:UVL-statement:")


def test_record_holds_an_undisposed_match(cli, tmp_path):
    assert cli("lists", "load", str(V1)).exit_code == 0
    f = order(tmp_path, {"name": "Huawei Technologies Duesseldorf", "country": "DE"})
    r = cli("check", str(f), "--record", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["outcome"] == "NEEDS_FACTS"
    holds = cli("holds", "list", "--format", "json")
    assert holds.exit_code == 0 and "O1" in holds.stdout


def test_explain_memo_shows_the_hit_beside_the_classification(cli, tmp_path):
    assert cli("lists", "load", str(V1)).exit_code == 0
    f = order(tmp_path, {"name": "Huawei Technologies Dusseldorf GmbH", "country": "DE"})
    r = cli("explain", str(f), "--id", "O1")
    assert r.exit_code == 0, r.output
    assert "Restricted-party screening" in r.stdout and "Huawei Technologies Dusseldorf GmbH" in r.stdout
    assert "744.11" in r.stdout and "LICENSE_REQUIRED" in r.stdout


def test_real_entity_list_huawei_affiliate_in_germany(cli, tmp_path):
    assert cli("lists", "load", str(need(CSL_BIS))).exit_code == 0
    f = order(tmp_path, {"name": "Huawei Technologies Dusseldorf GmbH", "country": "DE"})
    for posture in POSTURES:
        rec, _ = check(cli, f, posture)
        assert rec["outcome"] == "LICENSE_REQUIRED" and "744.11" in rec["rules"], rec
    r = cli("explain", str(f), "--id", "O1")
    assert r.exit_code == 0 and "Restricted-party screening" in r.stdout and "744.11" in r.stdout


def test_the_explain_report_and_the_terminal_memo_both_show_the_hit_in_either_order(cli, tmp_path):
    """`report explain` records the memo by swapping the commands' console; a memo module first
    imported during that swap kept the recorder for good, so a later `explain` printed its
    screening section into a stale buffer (and, the other way round, the report lost it)."""
    import subprocess
    import sys

    assert cli("lists", "load", str(V1)).exit_code == 0
    f = order(tmp_path, {"name": "Huawei Technologies Dusseldorf GmbH", "country": "DE"})
    # each order of the two commands, in a fresh process (import order is per process)
    script = """
import sys
from typer.testing import CliRunner
from aiexport.cli import app
r = CliRunner()
first, f, out = sys.argv[1], sys.argv[2], sys.argv[3]
rep = ["report", "explain", f, "--id", "O1", "--out", out]
exp = ["explain", f, "--id", "O1"]
for args in ([rep, exp] if first == "report" else [exp, rep]):
    res = r.invoke(app, args)
    assert res.exit_code == 0, res.output
    if args is exp:
        assert "Restricted-party screening" in res.stdout, "terminal memo lost its screening section"
html = open(out).read()
assert "Restricted-party screening" in html, "report lost its screening section"
print("ok")
"""
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AIEXPORT_CACHE_DIR": str(tmp_path / "cache"),
           "AIEXPORT_ACTOR": "officer.jane", "COLUMNS": "250", "PATH": "/usr/bin:/bin"}
    for first in ("report", "explain"):
        out = tmp_path / f"memo-{first}.html"
        p = subprocess.run([sys.executable, "-c", script, first, str(f), str(out)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0 and p.stdout.strip().endswith("ok"), (first, p.stdout[-800:], p.stderr[-2000:])
