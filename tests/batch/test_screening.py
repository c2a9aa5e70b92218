"""`aiexport batch` screens the parties as `check` does: a line to a listed party gets the same
answer from both (issue 8 x 11), and a run without lists says the parties were not screened."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from aiexport.cli import app

runner = CliRunner()
V1 = Path(__file__).resolve().parents[1] / "screening" / "fixtures" / "csl_v1.csv"
CONTRACT = ["id", "outcome", "eccn", "license_exception", "review_policy", "rules", "needs_facts", "obligations",
            "posture", "rule_set"]
UNLISTED = {"enforced": "NLR", "codified": "LICENSE_EXCEPTION"}  # H100s to Germany, 2025-09-01, by the item rules

# (id, consignee name, consignee's ultimate parent, end user name, end user country)
PARTIES = [
    ("L-EXACT", "Huawei Technologies Dusseldorf GmbH", "", "", ""),  # EL, exact: 744.11
    ("L-NEAR", "Huawei Technologies Duesseldorf", "", "", ""),  # a variant: an open potential match
    ("L-EU", "Blue Lake GmbH", "", "Northstar Avionics Supply", "CY"),  # DPL end user: 764.3
    ("L-PARENT", "Rhein Compute GmbH", "Huawei Technologies Dusseldorf GmbH", "", ""),  # a listed parent
    ("CLEAR-1", "Blue Lake Bakery GmbH", "", "", ""),
    ("CLEAR-2", "Rhein Compute GmbH", "", "", ""),
    ("CLEAR-3", "", "", "", ""),  # no name: nothing to screen
]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AIEXPORT_CACHE_DIR": str(tmp_path / "cache"),
           "COLUMNS": "250"}

    def run(*args: str):
        return runner.invoke(app, list(args), env=env)

    return run


def book(tmp_path: Path) -> Path:
    f = tmp_path / "book.csv"
    cols = ["id", "date", "kind", "from", "to", "chip", "quantity", "consignee_name", "consignee_country",
            "consignee_ultimate_parent", "end_user_name", "end_user_country"]
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for oid, name, parent, eu, eu_cc in PARTIES:
            w.writerow([oid, "2025-09-01", "export", "US", "DE", "H100 SXM", "8", name, "DE", parent, eu, eu_cc])
    return f


def batch(cli, f: Path, out: Path, posture: str) -> tuple[dict[str, dict], object]:
    r = cli("batch", str(f), "-o", str(out), "--posture", posture)
    assert r.exit_code == 0, r.output
    got = pl.read_parquet(out).select(CONTRACT).to_dicts()
    return {x["id"]: x for x in got}, r


def check(cli, f: Path, posture: str) -> dict[str, dict]:
    r = cli("check", str(f), "--format", "json", "--posture", posture)
    assert r.exit_code == 0, r.output
    out = {}
    for rec in json.loads(r.stdout):
        rec["needs_facts"] = [x["fact"] for x in rec["needs_facts"]]
        out[rec["id"]] = {k: rec[k] for k in CONTRACT}
    return out


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_batch_screens_parties_like_check(cli, tmp_path, posture):
    assert cli("lists", "load", str(V1)).exit_code == 0
    f = book(tmp_path)
    got, r = batch(cli, f, tmp_path / "out.parquet", posture)
    want = check(cli, f, posture)
    assert got == want
    # the determining rules: each listed party changes the answer, the clear ones keep the item's
    assert got["L-EXACT"]["outcome"] == "LICENSE_REQUIRED" and "744.11" in got["L-EXACT"]["rules"]
    assert got["L-EXACT"]["review_policy"] == "denial"
    assert got["L-NEAR"]["outcome"] == "NEEDS_FACTS" and "screening.potential-match" in got["L-NEAR"]["rules"]
    assert got["L-EU"]["outcome"] == "LICENSE_REQUIRED" and "764.3" in got["L-EU"]["rules"]
    assert got["L-PARENT"]["outcome"] in ("LICENSE_REQUIRED", "NEEDS_FACTS") and got["L-PARENT"]["outcome"] != UNLISTED[posture]
    for oid in ("CLEAR-1", "CLEAR-2", "CLEAR-3"):
        assert got[oid]["outcome"] == UNLISTED[posture], oid
    assert "parties screened against" in r.stdout and "4 line(s) with a restricted-party match" in r.stdout
    assert "NOT screened" not in r.output


def test_batch_without_lists_says_the_parties_were_not_screened(cli, tmp_path):
    f = book(tmp_path)
    got, r = batch(cli, f, tmp_path / "out.parquet", "enforced")
    assert got["L-EXACT"]["outcome"] == "NLR"  # nothing to screen against: the item rules alone
    assert "parties NOT screened" in r.stderr and "lists load" in r.stderr
