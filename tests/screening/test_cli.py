"""End-to-end: lists load/show/diff/update, screen (the JSON contract), dispositions, --rescreen."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aiexport.cli import app

from .conftest import FIXTURES

runner = CliRunner()
V1, V2 = FIXTURES / "csl_v1.csv", FIXTURES / "csl_v2.csv"


@pytest.fixture
def cli(tmp_path):
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AIEXPORT_CACHE_DIR": str(tmp_path / "cache"),
           "AIEXPORT_ACTOR": "officer.jane", "COLUMNS": "220"}

    def run(*args: str):
        return runner.invoke(app, list(args), env=env)

    return run


def screen_json(cli, *args):
    r = cli("screen", *args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_screen_json_contract_and_clear(cli, tmp_path):
    assert cli("lists", "load", str(V1)).exit_code == 0
    parties = tmp_path / "p.csv"
    parties.write_text("id,name,country\nP1,HUAWEI TECHNOLOGIES DUESSELDORF,DE\nP2,Blue Lake Bakery,US\nP3,Falcon Electronics Ltd,HK\n")
    out = screen_json(cli, "--parties", str(parties))
    assert [o["id"] for o in out] == ["P1", "P2", "P3"]
    p1 = out[0]
    assert {"id", "query", "country", "status", "matches"} <= set(p1)
    assert p1["status"] == "potential_match" and p1["country"] == "DE"
    m = p1["matches"][0]
    for k in ("list", "entry_id", "name", "matched_name", "score", "countries", "federal_register", "license_requirement", "explanation"):
        assert k in m
    assert (m["list"], m["entry_id"], m["name"], m["countries"]) == ("EL", "t-hw-dus", "Huawei Technologies Dusseldorf GmbH", ["DE"])
    assert 0.8 <= m["score"] <= 1 and m["footnotes"] == ["1", "2"]
    assert m["explanation"]["country_evidence"]["reading"] == "agrees"
    assert out[1]["status"] == "clear" and out[1]["matches"] == []
    assert out[2]["matches"][0]["countries"] == ["HK"]  # filed under CN, in Hong Kong
    # names on the command line, csv and table output
    r = cli("screen", "Northstar Avionics Supply", "--format", "csv")
    assert r.exit_code == 0 and "DPL,t-dpl" in r.stdout
    r = cli("screen", "Sunrise Microtech")
    assert r.exit_code == 0 and "UVL" in r.stdout


@pytest.mark.parametrize(
    "content, suffix, field, row",
    [
        ("id,name,country\nP1,,DE\n", ".csv", "name", 1),
        ("id,name,country\nP1,Acme,Germany\n", ".csv", "country", 1),
        ("id,country\nP1,DE\n", ".csv", "name", None),
        ('[{"id": "a", "name": "Acme", "country": "ZZ"}]', ".json", "country", 1),
        ("- id: a\n  name: ''\n", ".yaml", "name", 1),
    ],
)
def test_bad_parties_exit_2_naming_file_row_field(cli, tmp_path, content, suffix, field, row):
    assert cli("lists", "load", str(V1)).exit_code == 0
    f = tmp_path / f"parties{suffix}"
    f.write_text(content)
    r = cli("screen", "--parties", str(f))
    assert r.exit_code == 2
    assert f.name in r.output and f"'{field}'" in r.output
    if row:
        assert f"row {row}" in r.output


def test_bad_options_and_no_list_loaded(cli):
    r = cli("screen", "Acme")
    assert r.exit_code == 2 and "no restricted-party list is loaded" in r.output
    assert cli("lists", "load", str(V1)).exit_code == 0
    assert cli("screen", "Acme", "--threshold", "1.5").exit_code == 2
    r = cli("screen", "Acme", "--country", "Germany")
    assert r.exit_code == 2 and "--country" in r.output
    assert cli("screen").exit_code == 2


def test_lists_load_is_idempotent_show_and_diff(cli):
    r = cli("lists", "load", str(V1), "--format", "json")
    first = json.loads(r.stdout)[0]
    assert first["loaded"] and first["counts"] == {"DPL": 1, "EL": 3, "MEU": 1, "SDN": 1, "UVL": 1}
    again = json.loads(cli("lists", "load", str(V1), "--format", "json").stdout)[0]
    assert not again["loaded"] and again["version"] == first["version"]
    cli("lists", "load", str(V2))
    shown = json.loads(cli("lists", "show", "--format", "json").stdout)
    assert [(v["version"], v["current"]) for v in shown] == [(1, False), (2, True)]
    d = json.loads(cli("lists", "diff", "1", "2", "--format", "json").stdout)
    assert [a["name"] for a in d["added"]] == ["Quantum Ridge Computing Co., Ltd."]
    assert [a["name"] for a in d["removed"]] == ["Redstone Logistics LLC"]
    assert [c["name"] for c in d["changed"]] == ["Falcon Electronics Limited"]
    assert {"aliases", "addresses"} <= set(d["changed"][0]["fields"])
    # files work too, and an unknown version is exit 2
    assert cli("lists", "diff", str(V1), str(V2)).exit_code == 0
    assert cli("lists", "diff", "1", "9").exit_code == 2


def test_update_downloads_the_official_files_offline(cli, monkeypatch, tmp_path):
    import shutil

    from aiexport.commands import lists as lists_cmd

    got = []

    def fake_fetch(url, dest, timeout=60.0):
        got.append(url)
        shutil.copy(V1 if "trade.gov" in url else FIXTURES / "csl_v1.csv", dest)
        return dest

    monkeypatch.setattr(lists_cmd, "fetch", fake_fetch)
    r = cli("lists", "update", "--source", "csl", "--format", "json")
    assert r.exit_code == 0, r.output
    assert got == lists_cmd.OFFICIAL["csl"] and json.loads(r.stdout)[0]["counts"]["EL"] == 3
    assert cli("lists", "update", "--source", "nope").exit_code == 2


def test_disposition_holds_for_the_entry_version_only_and_rescreen(cli):
    assert cli("lists", "load", str(V1)).exit_code == 0
    a = screen_json(cli, "Falcon Electronics Ltd", "--country", "HK", "--record")[0]
    b = screen_json(cli, "Orion Components Trading", "--country", "AE", "--record")[0]
    assert a["status"] == b["status"] == "potential_match"
    for q, cc, e in (("Falcon Electronics Ltd", "HK", "t-falcon"), ("Orion Components Trading", "AE", "t-orion")):
        r = cli("disposition", "add", "--party", q, "--country", cc, "--entry", e, "--status", "false_positive",
                "--reason", "different company: registration checked")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["audit_seq"] >= 1
    assert screen_json(cli, "Falcon Electronics Ltd", "--country", "HK")[0]["status"] == "clear"
    # a disposition needs a reason, a known status and a current entry
    assert cli("disposition", "add", "--party", "x", "--entry", "t-orion", "--status", "maybe", "--reason", "r").exit_code == 2
    assert cli("disposition", "add", "--party", "x", "--entry", "nope", "--status", "confirmed", "--reason", "r").exit_code == 2
    # the list changes: Falcon's entry changed (its false positive comes back), Orion's did not
    assert cli("lists", "load", str(V2)).exit_code == 0
    fa = screen_json(cli, "Falcon Electronics Ltd", "--country", "HK")[0]
    assert fa["status"] == "potential_match"
    assert fa["matches"][0]["disposition"]["status"] == "expired" and not fa["matches"][0]["disposition"]["holds"]
    orion = screen_json(cli, "Orion Components Trading", "--country", "AE")[0]
    assert orion["status"] == "clear" and orion["matches"][0]["disposition"]["holds"]
    # --rescreen screens again only the party whose candidate changed, and says what changed
    re = screen_json(cli, "--rescreen")
    assert [r["query"] for r in re] == ["Falcon Electronics Ltd"]
    assert re[0]["changes"][0]["entry_id"] == "t-falcon" and "addresses" in re[0]["changes"][0]["fields"]
    assert screen_json(cli, "--rescreen") == []  # nothing changed since
    # the dispositions and list loads are links of the verified audit chain
    r = cli("audit", "verify", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"]
    log = cli("audit", "log", "--format", "json")
    assert "screening_disposition" in log.stdout and "screening_list_load" in log.stdout


def test_a_changed_disposition_breaks_the_audit_verification(cli, tmp_path):
    import sqlite3

    assert cli("lists", "load", str(V1)).exit_code == 0
    r = cli("disposition", "add", "--party", "Orion Components", "--entry", "t-orion", "--status", "false_positive",
            "--reason", "checked")
    assert r.exit_code == 0, r.output
    assert cli("audit", "verify").exit_code == 0
    con = sqlite3.connect(tmp_path / "a.db")
    con.execute("UPDATE screening_dispositions SET reason = 'nobody checked'")
    con.commit()
    con.close()
    r = cli("audit", "verify", "--format", "json")
    assert r.exit_code == 1 and "screening disposition 1" in r.stdout
