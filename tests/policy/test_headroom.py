"""Headroom: distances to each line per rule version, found by the classifier itself."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.commands.headroom import catalog_rows, headroom_row

runner = CliRunner()
DAY = dt.date(2026, 12, 1)


def _version(res: dict, kind: str) -> dict:
    return next(v for v in res["versions"] if v["kind"] == kind)


def _line(v: dict, name: str) -> dict:
    return next(ln for ln in v["lines"] if ln["line"] == name)


def _change(v: dict, unit: str) -> dict:
    return next(c for c in v["change"] if c["unit"] == unit)


def _specs(tmp_path: Path, rows: str) -> list[dict]:
    p = tmp_path / "specs.yaml"
    p.write_text(rows)
    r = runner.invoke(app, ["headroom", "--specs", str(p), "--on", DAY.isoformat(), "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_h20_sits_32_tpp_under_3a090_b1(posture):
    rows, schema = catalog_rows(["H20"], None)
    res = headroom_row(rows[0], schema, DAY, posture)
    v = _version(res, "2023")
    assert v["classification"] == "not 3A090"
    assert _line(v, "3A090.b.1: TPP") == {**_line(v, "3A090.b.1: TPP"), "distance": 32.0, "side": "below"}
    tpp = _change(v, "TPP")
    assert tpp["gain"] == {"at_least": 32.0, "line": 2400.0, "becomes": "3A090.b.1"}
    assert "lose" not in tpp  # less TPP never brings it into 3A090
    pd = _change(v, "TPP/mm2")
    assert pd["gain"]["line"] == 3.2 and pd["gain"]["becomes"] == "3A090.b.2"
    free = v["largest_free_design"]  # at the H20's 814 mm2, the free side ends at TPP 2,400
    assert (free["tpp_below"], free["dense_fp8_tflops_below"]) == (2400.0, 300.0)
    zone = _version(res, "zone")
    assert zone["classification"].startswith("inside the zone")
    assert zone["largest_free_design"]["tpp_below"] == 21000


def test_at_exactly_a_line_headroom_is_zero_on_the_controlled_side(tmp_path):
    out = _specs(tmp_path, """
- {name: at-a1, tpp: 4800, die_area_mm2: 1000, marketed_for_datacenter: yes, memory_bandwidth_gbps: 6500}
- {name: under-a1, tpp: "4799.999999", die_area_mm2: 1000, marketed_for_datacenter: yes, memory_bandwidth_gbps: "6499.999999"}
- {name: at-pd, tpp: 2960, die_area_mm2: 500, marketed_for_datacenter: yes}
""")
    at, under, at_pd = out
    v = _version(at, "2023")
    assert v["classification"] == "3A090.a.1"
    assert (_line(v, "3A090.a.1: TPP")["distance"], _line(v, "3A090.a.1: TPP")["side"]) == (0.0, "meets (>=)")
    assert _change(v, "TPP")["lose"] == {"more_than": 0.0, "line": 4800.0, "becomes": "3A090.b.1"}
    assert "gain" not in _change(v, "TPP")
    v = _version(under, "2023")
    assert v["classification"] == "3A090.b.1"
    assert (_line(v, "3A090.a.1: TPP")["distance"], _line(v, "3A090.a.1: TPP")["side"]) == (0.000001, "below")
    assert _change(v, "TPP")["gain"] == {"at_least": 0.000001, "line": 4800.0, "becomes": "3A090.a.1"}
    # the 91 FR 1684 zone: 6,500 GB/s is outside, a micro-unit less is inside
    assert _version(at, "zone")["classification"].startswith("outside")
    assert _version(under, "zone")["classification"].startswith("inside")
    v = _version(at_pd, "2023")  # PD exactly 5.92
    assert v["classification"] == "3A090.a.2"
    assert (_line(v, "3A090.a.2: PD")["distance"], _line(v, "3A090.a.2: PD")["side"]) == (0.0, "meets (>=)")
    assert _change(v, "TPP/mm2")["lose"] == {"more_than": 0.0, "line": 5.92, "becomes": "3A090.b.1"}


def test_the_2022_version_uses_the_io_line():
    rows, schema = catalog_rows(["A800 SXM"], None)
    res = headroom_row(rows[0], schema, DAY, "enforced")
    v = _version(res, "2022")
    assert v["classification"] == "not 3A090"  # 400 GB/s: under the 600 GB/s line
    io = _change(v, "GB/s")
    assert io["gain"] == {"at_least": 200.0, "line": 600.0, "becomes": "3A090.a(2022)"}
    assert _version(res, "2023")["classification"] == "3A090.a.1"


def test_before_the_2023_rule_only_the_2022_version_is_measured():
    rows, schema = catalog_rows(["H20"], None)
    res = headroom_row(rows[0], schema, dt.date(2023, 6, 1), "enforced")
    assert [v["kind"] for v in res["versions"]] == ["2022"]


def test_headroom_cli_bad_input_exits_2(tmp_path):
    assert runner.invoke(app, ["headroom"]).exit_code == 2
    assert runner.invoke(app, ["headroom", "no such chip xyz"]).exit_code == 2
    assert runner.invoke(app, ["headroom", "H20", "--die-area", "-5"]).exit_code == 2
    r = runner.invoke(app, ["headroom", "H20", "--on", "2026-12-01"])
    assert r.exit_code == 0 and "largest free design" in r.output


def test_hbm_is_measured_against_3a090c_which_is_met_strictly_above_its_line(tmp_path):
    at, over = _specs(tmp_path, """
- {name: hbm-at, device_type: hbm, memory_bandwidth_gbps: 200, package_area_mm2: 100}
- {name: hbm-over, device_type: hbm, memory_bandwidth_gbps: "200.000001", package_area_mm2: 100}
""")
    assert [v["kind"] for v in at["versions"]] == ["hbm"]  # no logic-IC lines for an HBM stack
    v = _version(at, "hbm")
    assert v["classification"] == "not 3A090" and v["lines"][0]["distance"] == 0.0
    assert v["lines"][0]["side"] == "at or below: not 3A090.c"  # "> 2 GB/s/mm2": on the line is free
    assert v["change"][0]["gain"] == {"more_than": 0.0, "line": 200.0, "becomes": "3A090.c"}
    v = _version(over, "hbm")
    assert v["classification"] == "3A090.c" and v["lines"][0]["side"] == "above (>): 3A090.c"
    assert v["change"][0]["lose"] == {"at_least": 0.000001, "line": 200.0, "becomes": "not 3A090"}
    r = runner.invoke(app, ["headroom", "--specs", str(tmp_path / "specs.yaml"), "--on", DAY.isoformat()])
    assert r.exit_code == 0 and "gain > 0.0 GB/s → 3A090.c" in r.output
