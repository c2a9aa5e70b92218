"""End-to-end: `aiexport classify` / `chips` / `demo` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aiexport.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_classify_json_contract():
    r = run("classify", "H100 SXM", "A100 SXM", "RTX 4090", "RTX 4090 D", "H20", "--on", "2024-06-01", "--format", "json")
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)
    by = {x["name"]: x for x in recs}
    h100 = by["NVIDIA H100 SXM5 80GB"]
    assert h100["total_processing_performance"] == 15832
    assert h100["eccn"] == "3A090.a" and h100["paragraph"] == "3A090.a.1"
    assert h100["rule_set"] == "R3:2024-04-04"
    assert {"rule": "3A090.a.1", "held": True, "detail": "TPP 15832 >= 4800"}.items() <= h100["reasons"][0].items()
    assert by["NVIDIA A100 SXM4 80GB"]["total_processing_performance"] == 4992
    rtx = by["NVIDIA GeForce RTX 4090 AIC (consumer)"]
    assert rtx["eccn"] == "3A090.a" and rtx["nac_aca_eligible"] is True
    assert by["NVIDIA GeForce RTX 4090 D AIC (consumer, China)"]["eccn"] is None
    h20 = by["NVIDIA H20 HGX (SXM) 96GB"]
    assert h20["eccn"] is None and h20["total_processing_performance"] == 2368
    assert round(h20["performance_density"], 2) == 2.91
    for rec in recs:
        for key in ("name", "total_processing_performance", "performance_density", "eccn", "paragraph",
                    "nac_aca_eligible", "needs_facts", "rule_set", "reasons"):
            assert key in rec


def test_classify_a800_by_date():
    before = json.loads(run("classify", "A800 SXM", "--on", "2023-06-01", "--format", "json").stdout)[0]
    after = json.loads(run("classify", "A800 SXM", "--on", "2023-11-17", "--format", "json").stdout)[0]
    assert before["eccn"] is None and before["rules"] == ["3A090.a(2022).interconnect"]
    assert after["eccn"] == "3A090.a"


def test_specs_file_name_column_and_vendor_model_variant(tmp_path: Path):
    f = tmp_path / "specs.csv"
    f.write_text("vendor,model,variant,dense_tops_int8,marketed_for_datacenter,die_area_mm2\n"
                 "ACME,X1,PCIe,600,yes,800\nACME,X0,,100,yes,800\n")
    r = run("classify", "--specs", str(f), "--on", "2025-01-01", "--format", "json")
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)
    assert [x["name"] for x in recs] == ["ACME X1 PCIe", "ACME X0"]
    assert [x["eccn"] for x in recs] == ["3A090.a", None]


def test_bad_specs_exit_2_naming_file_row_column(tmp_path: Path):
    f = tmp_path / "bad.csv"
    f.write_text("name,dense_tops_int8,die_area_mm2\nok,600,800\nbroken,six hundred,800\n")
    r = run("classify", "--specs", str(f), "--format", "json")
    assert r.exit_code == 2
    assert "bad.csv, row 2 (line 3), column 'dense_tops_int8'" in r.output
    assert "1 of 2 rows rejected" in r.output


def test_unknown_and_ambiguous_names_exit_2():
    r = run("classify", "A100")
    assert r.exit_code == 2 and "ambiguous" in r.output and "A100 PCIe 80GB" in r.output
    r = run("classify", "Z9000")
    assert r.exit_code == 2 and "not in the catalog" in r.output
    r = run("classify", "H100 SXM", "--on", "2024-13-01")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


def test_table_and_csv_views():
    r = run("classify", "H20", "--on", "2024-06-01")
    assert r.exit_code == 0 and "below every 3A090.a/.b line" in r.output
    r = run("classify", "H100 SXM", "--on", "2024-06-01", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("name,on,total_processing_performance")


def test_chips_lists_catalog_with_attribution():
    r = run("chips")
    assert r.exit_code == 0 and "CC BY 4.0" in r.output
    recs = json.loads(run("chips", "--format", "json").stdout)
    assert len(recs) == 67


def test_demo_runs_as_installed_command():
    env = dict(os.environ, COLUMNS="200")
    exe = Path(sys.executable).with_name("aiexport")
    out = subprocess.run([str(exe), "demo"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Status by rule version" in out.stdout
    assert "NVIDIA A800 SXM4 80GB" in out.stdout and "not 3A090" in out.stdout
