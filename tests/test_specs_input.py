"""Bad input names file, row, column and expectation; nothing is dropped silently."""

from __future__ import annotations

from pathlib import Path

from aiexport.io.specs import read_specs


def test_bad_cells_are_reported_with_row_line_and_column(tmp_path: Path):
    f = tmp_path / "specs.csv"
    f.write_text(
        "name,dense_tops_fp16,die_area_mm2,marketed_for_datacenter\n"
        "ok,100,200,yes\n"
        "bad-number,12x,200,yes\n"
        "bad-flag,100,200,maybe\n"
        ",100,200,yes\n"
    )
    result = read_specs(f)
    assert result.total == 4
    msgs = [str(e) for e in result.errors]
    assert any("row 2 (line 3), column 'dense_tops_fp16': expected a non-negative decimal" in m and "'12x'" in m for m in msgs)
    assert any("row 3 (line 4), column 'marketed_for_datacenter': expected yes, no" in m for m in msgs)
    assert any("row 4 (line 5), column 'name'" in m for m in msgs)
    assert result.frame["name"].to_list() == ["ok"]
    assert result.frame.height + len({e.row for e in result.errors}) == result.total


def test_vendor_model_variant_make_the_name(tmp_path: Path):
    f = tmp_path / "specs.yaml"
    f.write_text("- {vendor: ACME, model: X1, variant: PCIe, dense_tops_int8: 700}\n")
    result = read_specs(f)
    assert not result.errors
    assert result.frame["name"].to_list() == ["ACME X1 PCIe"]


def test_json_rows(tmp_path: Path):
    f = tmp_path / "specs.json"
    f.write_text('[{"name": "j", "dense_tops_fp8": 600, "marketed_for_datacenter": true}]')
    result = read_specs(f)
    assert not result.errors and result.frame["tops_fp8"][0] == 600_000_000
