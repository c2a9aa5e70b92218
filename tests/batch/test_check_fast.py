"""`check` on a long CSV file goes through the columnar batch path (issue 11, item 6) and keeps
its JSON contract — every field of every record the same as check's own path gives — and its
error messages (a file with a bad row is read by check's own path)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aiexport.app import decisions
from aiexport.cli import app

from .helpers import generate
from .test_screening import V1, book

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AIEXPORT_CACHE_DIR": str(tmp_path / "cache"),
           "COLUMNS": "250"}
    real = decisions.check_file_fast

    def run(*args: str, fast: bool):
        monkeypatch.setattr(decisions, "FAST_PATH_ROWS", 1 if fast else 10**12)
        calls = []

        def spy(*a, **k):
            out = real(*a, **k)
            calls.append(out is not None)
            return out

        monkeypatch.setattr(decisions, "check_file_fast", spy)
        r = runner.invoke(app, list(args), env=env)
        return r, calls

    return run


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_long_file_same_json_as_checks_own_path(cli, tmp_path, posture):
    f = tmp_path / "book.csv"
    generate(400, seed=11).write_csv(f)
    fast, calls = cli("check", str(f), "--format", "json", "--posture", posture, fast=True)
    assert fast.exit_code == 0, fast.output
    assert calls == [True]  # decided by the columnar path
    slow, calls = cli("check", str(f), "--format", "json", "--posture", posture, fast=False)
    assert slow.exit_code == 0 and calls == [False]
    a, b = json.loads(fast.stdout), json.loads(slow.stdout)
    assert len(a) == 400 and a == b
    assert {r["outcome"] for r in a} >= {"NLR", "LICENSE_REQUIRED", "NEEDS_FACTS"}


def test_listed_parties_same_json_on_both_paths(cli, tmp_path):
    r, _ = cli("lists", "load", str(V1), fast=False)
    assert r.exit_code == 0, r.output
    f = book(tmp_path)
    fast, calls = cli("check", str(f), "--format", "json", fast=True)
    slow, _ = cli("check", str(f), "--format", "json", fast=False)
    assert calls == [True] and fast.exit_code == slow.exit_code == 0
    a, b = json.loads(fast.stdout), json.loads(slow.stdout)
    assert a == b
    assert {r["id"]: r["outcome"] for r in a}["L-EXACT"] == "LICENSE_REQUIRED"


def test_a_bad_row_is_reported_by_checks_own_path(cli, tmp_path):
    f = tmp_path / "book.csv"
    frame = generate(50, seed=3)
    frame = frame.with_columns(frame["quantity"].scatter(7, "12000000000"))  # row 8: too many units
    frame.write_csv(f)
    fast, calls = cli("check", str(f), "--format", "json", fast=True)
    slow, _ = cli("check", str(f), "--format", "json", fast=False)
    assert calls == [False]  # the columnar path declined the file
    assert fast.exit_code == slow.exit_code == 2
    assert fast.output == slow.output
    assert "row 8" in fast.output and "'quantity'" in fast.output and "at most 10,000,000 units" in fast.output


def test_the_table_of_a_long_file_shows_its_first_orders_and_counts_them_all(cli, tmp_path, monkeypatch):
    """The default table lays out at most ``TABLE_ROWS`` orders (Rich measures every cell: a
    100,000-line book took minutes), says so, and its counts cover every order."""
    from aiexport.commands import check as check_command

    monkeypatch.setattr(check_command, "TABLE_ROWS", 5)
    f = tmp_path / "book.csv"
    generate(40, seed=11).write_csv(f)
    js, _ = cli("check", str(f), "--format", "json", fast=False)
    recs = json.loads(js.stdout)
    r, _ = cli("check", str(f), fast=False)
    assert r.exit_code == 0, r.output
    shown = [x["id"] for x in recs if x["id"] in r.stdout]
    assert shown == [x["id"] for x in recs[:5]]
    assert "the first 5 of 40 orders" in " ".join(r.stdout.split())
    counts: dict[str, int] = {}
    for x in recs:
        counts[x["outcome"]] = counts.get(x["outcome"], 0) + 1
    last = r.stdout.strip().splitlines()[-1]
    assert all(f"{o}: {n}" in last for o, n in counts.items()) and sum(counts.values()) == 40
