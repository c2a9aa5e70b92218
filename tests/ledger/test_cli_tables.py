"""Ledger tables fit an 80-column terminal (long cells wrap inside their column) and a hold shows
what an officer acts on: the order, item, quantity and consignee."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.commands.check import example_orders

runner = CliRunner()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('t') / 'l.db'}"
    env = {"AIEXPORT_DATABASE_URL": db, "AIEXPORT_ACTOR": "a", "COLUMNS": "80"}
    r = runner.invoke(app, ["check", str(example_orders()), "--posture", "codified", "--record"], env=env)
    assert r.exit_code == 0, r.output
    return env


@pytest.mark.parametrize("args", [("holds", "list"), ("ledger", "list"), ("ledger", "history", "allocation:IN:2025-2027"),
                                  ("audit", "log"), ("holds", "list", "--status", "all")])
def test_tables_fit_80_columns(recorded, args):
    r = runner.invoke(app, list(args), env=recorded)
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.stdout.splitlines()) <= 80, r.stdout


def test_holds_list_shows_item_and_consignee(recorded):
    r = runner.invoke(app, ["holds", "list"], env={**recorded, "COLUMNS": "200"})
    assert "Hangzhou Cloud Compute Ltd (CN)" in r.stdout
    assert "NVIDIA A800 SXM4 80GB" in r.stdout
    assert "review: denial" in r.stdout
