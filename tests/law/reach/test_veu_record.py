"""VEU authorizations on record (migration 0006): loaded by an officer, listed and shown to anyone,
revoked with a date and a reason, every write in the audit chain (and `audit verify` checks them)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from aiexport.app import veu as uc
from aiexport.app.errors import Conflict, Forbidden, NotFound
from aiexport.auth import service as auth
from aiexport.cli import app
from aiexport.errors import InputError
from aiexport.ledger import Ledger

AUTHS = """
authorizations:
  - {id: NVEU-MY-1, kind: nveu, holder: KL Compute Sdn Bhd, headquarters: MY, sites: [{country: MY}],
     eccns: [3A090, 4A090], valid_from: 2025-05-15, allocation_tpp: 200000, conditions: ["report monthly"]}
  - {id: UVEU-US-1, kind: uveu, holder: Hyperscale Inc, headquarters: US, sites: [{country: US}, {country: IN}, {country: DE}],
     eccns: [3A090, 4A090], valid_from: 2025-05-15}
"""


@pytest.fixture
def led(tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'l.db'}") as led:
        yield led


def _file(tmp_path: Path, body: str = AUTHS, name: str = "veu.yaml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


def _officer(led) -> auth.Actor:
    auth.init_admin(led, "boss")
    return auth.Actor("boss", "admin")


def test_load_list_show_and_the_rule_view(led, tmp_path):
    actor = _officer(led)
    out = uc.load_file(led, actor, _file(tmp_path))
    assert out["loaded"] == ["NVEU-MY-1", "UVEU-US-1"] and out["unchanged"] == []
    assert [r["id"] for r in uc.list_authorizations(led)] == ["NVEU-MY-1", "UVEU-US-1"]
    one = uc.show(led, "NVEU-MY-1")
    assert one["allocation_tpp"] == "200000" and one["actor"] == "boss" and one["status"] == "on record"
    auths = uc.authorizations_on_record(led)
    assert auths["UVEU-US-1"].headquarters == "US" and [s.country for s in auths["UVEU-US-1"].sites] == ["US", "IN", "DE"]
    # loading the same file again changes nothing; other terms under the same id are refused
    assert uc.load_file(led, actor, _file(tmp_path))["unchanged"] == ["NVEU-MY-1", "UVEU-US-1"]
    with pytest.raises(InputError) as e:
        uc.load_file(led, actor, _file(tmp_path, AUTHS.replace("200000", "300000"), "v2.yaml"))
    assert (e.value.row, e.value.column) == (1, "id")
    assert led.verify().ok


def test_revoke_ends_the_validity_the_day_before_and_is_audited(led, tmp_path):
    actor = _officer(led)
    uc.load_file(led, actor, _file(tmp_path))
    out = uc.revoke(led, actor, "NVEU-MY-1", dt.date(2026, 3, 1), "BIS removed the NVEU from Supp. No. 7")
    assert out["status"] == "revoked" and out["revoked_by"] == "boss"
    a = uc.authorizations_on_record(led)["NVEU-MY-1"]
    assert a.valid_to == dt.date(2026, 2, 28)
    assert any("BIS removed" in c for c in a.conditions)
    with pytest.raises(Conflict):
        uc.revoke(led, actor, "NVEU-MY-1", dt.date(2026, 4, 1), "again")
    with pytest.raises(NotFound):
        uc.revoke(led, actor, "NOPE", dt.date(2026, 4, 1), "x")
    subjects = [r["subject"] for r in led.audit_log()]
    assert subjects.count("veu:NVEU-MY-1") == 2
    assert led.verify().ok


def test_only_an_officer_loads_or_revokes(led, tmp_path):
    analyst = auth.Actor("ann", "analyst")
    with pytest.raises(Forbidden):
        uc.load_file(led, analyst, _file(tmp_path))
    uc.load_file(led, _officer(led), _file(tmp_path))
    with pytest.raises(Forbidden):
        uc.revoke(led, analyst, "NVEU-MY-1", dt.date(2026, 3, 1), "x")
    assert uc.show(led, "NVEU-MY-1")["status"] == "on record"  # reading needs no role


def test_audit_verify_sees_a_row_changed_inserted_or_deleted_outside_aiexport(led, tmp_path):
    uc.load_file(led, _officer(led), _file(tmp_path))
    with led.engine.begin() as c:
        c.execute(text("UPDATE veu_authorizations SET allocation_tpp = '900000' WHERE id = 'NVEU-MY-1'"))
    problems = " ".join(led.verify().problems)
    assert "VEU authorization NVEU-MY-1" in problems and "changed" in problems
    with led.engine.begin() as c:
        c.execute(text("DELETE FROM veu_authorizations WHERE id = 'UVEU-US-1'"))
    assert "veu UVEU-US-1" in " ".join(led.verify().problems) and "deleted" in " ".join(led.verify().problems)


def test_a_bad_file_names_file_entry_and_field(led, tmp_path):
    bad = _file(tmp_path, AUTHS.replace("kind: uveu", "kind: universal"), "bad.yaml")
    with pytest.raises(InputError) as e:
        uc.load_file(led, _officer(led), bad)
    assert (e.value.file, e.value.row, e.value.column) == (str(bad), 2, "kind")
    assert uc.list_authorizations(led) == []  # refused whole


def test_the_cli(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    # no database yet: show lists nothing and creates nothing
    r = runner.invoke(app, ["veu", "show", "--db", url, "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == [] and not (tmp_path / "cli.db").exists()
    with Ledger(url) as led:
        token = auth.init_admin(led, "boss")
        _, viewer = auth.add_user(led, auth.Actor("boss", "admin"), "vic", "viewer")
    monkeypatch.setenv("AIEXPORT_TOKEN", viewer)
    r = runner.invoke(app, ["veu", "load", str(_file(tmp_path)), "--db", url])
    assert r.exit_code == 77, r.output
    monkeypatch.setenv("AIEXPORT_TOKEN", token)
    r = runner.invoke(app, ["veu", "load", str(_file(tmp_path)), "--db", url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["loaded"] == ["NVEU-MY-1", "UVEU-US-1"]
    bad = _file(tmp_path, AUTHS.replace("valid_from: 2025-05-15}", "valid_from: someday}"), "bad.yaml")
    r = runner.invoke(app, ["veu", "load", str(bad), "--db", url])
    assert r.exit_code == 2 and "bad.yaml" in r.output and "valid_from" in r.output
    r = runner.invoke(app, ["veu", "revoke", "UVEU-US-1", "--on", "2026-01-01", "--reason", "removed", "--db", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["veu", "revoke", "UVEU-US-1", "--on", "not-a-date", "--reason", "x", "--db", url])
    assert r.exit_code == 2 and "--on" in r.output
    monkeypatch.delenv("AIEXPORT_TOKEN")
    r = runner.invoke(app, ["veu", "show", "UVEU-US-1", "--db", url, "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["revoked_on"] == "2026-01-01"
    r = runner.invoke(app, ["veu", "show", "--db", url])
    assert r.exit_code == 0 and "NVEU-MY-1" in r.stdout
    r = runner.invoke(app, ["veu", "show", "NOPE", "--db", url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["audit", "verify", "--db", url])
    assert r.exit_code == 0, r.output
