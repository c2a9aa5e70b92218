"""batch refuses what check refuses, with check's message: more units than one order line can
carry, and a total TPP beyond exact arithmetic (decided before as NLR on a wrapped-around total)."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from aiexport.cli import app

runner = CliRunner()
SERVER = json.dumps({"server": [{"chip": "H100 SXM", "count": 100000}]})
ROWS = [  # id, chip, item, quantity
    ("OK", "H100 SXM", "", "8"),
    ("BIG", "H100 SXM", "", "500000"),  # large, and exact: decided
    ("TOO-MANY", "H100 SXM", "", "10000001"),  # one unit more than a line may carry
    ("HUGE", "H100 SXM", "", "1000000000000000"),
    ("OVERFLOW", "", SERVER, "10000000"),  # 10^12 chips: within the unit limit, but the total leaves exact integers
]


def test_batch_rejects_what_check_rejects_with_its_messages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "book.csv"
    pl.DataFrame([dict(zip(("id", "chip", "item", "quantity"), r, strict=True)) for r in ROWS]).with_columns(
        pl.lit("2025-09-01").alias("date"), pl.lit("US").alias("from"), pl.lit("DE").alias("to"),
        pl.lit("DE").alias("consignee_country")).write_csv(f)
    r = runner.invoke(app, ["batch", str(f), "-o", str(tmp_path / "out.parquet")])
    assert r.exit_code != 0  # something was rejected
    rejects = {x["id"]: x for x in pl.read_csv(tmp_path / "out.rejects.csv").to_dicts()}
    assert sorted(rejects) == ["HUGE", "OVERFLOW", "TOO-MANY"]
    assert {x["field"] for x in rejects.values()} == {"quantity"}
    decided = pl.read_parquet(tmp_path / "out.parquet")
    assert sorted(decided["id"].to_list()) == ["BIG", "OK"]
    assert "too many" not in rejects["OVERFLOW"]["expected"] and "computed exactly" in rejects["OVERFLOW"]["expected"]
    assert "at most 10,000,000 units" in rejects["TOO-MANY"]["expected"] and "10,000,001" in rejects["TOO-MANY"]["expected"]
    # check names the same rows with the same words (it reports the unreadable rows first, and
    # refuses an overflowing total once the file reads)
    c = runner.invoke(app, ["check", str(f), "--format", "json"])
    assert c.exit_code == 2
    for oid in ("TOO-MANY", "HUGE"):
        line = [x[0] for x in ROWS].index(oid) + 1
        assert f"row {line} " in c.output and rejects[oid]["expected"] in " ".join(c.output.split()), oid
    g = tmp_path / "overflow.csv"
    pl.read_csv(f, infer_schema=False).filter(pl.col("id").is_in(["OK", "OVERFLOW"])).write_csv(g)
    c = runner.invoke(app, ["check", str(g), "--format", "json"])
    assert c.exit_code == 2 and "row 2" in c.output
    assert rejects["OVERFLOW"]["expected"] in " ".join(c.output.split())


def test_an_unreadable_file_is_bad_input_naming_it(tmp_path):
    """A ragged line or bytes that are not UTF-8: exit 2 naming the file, for batch and for check
    (whose columnar path for long files hands such a file to check's own reader)."""
    header = b"id,date,kind,from,to,chip,quantity,consignee_country\n"
    cases = {"ragged.csv": header + b"A,2025-09-01,export,US,DE,H100 SXM,8,DE,EXTRA\n",
             "latin1.csv": header + "B,2025-09-01,export,US,DE,H100 SXM,8,DE\nC,2025-09-01,export,US,DE,Ä\xff,8,DE\n".encode("latin-1")}
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        r = runner.invoke(app, ["batch", str(f), "-o", str(tmp_path / "out.parquet")])
        assert r.exit_code == 2, (name, r.output)
        assert name in r.output and "internal error" not in r.output
        c = runner.invoke(app, ["check", str(f)])
        assert c.exit_code == 2 and "internal error" not in c.output, (name, c.output)


def test_an_unreadable_item_cell_beside_chip_lines_loses_no_line(tmp_path):
    """Found by test_differential: a line whose item cell is not JSON goes to check's path (which
    rejects it), and the chip lines beside it — item cell blank — were dropped from both paths
    (Polars' is_in on a null is null, and a null filter keeps the row in neither)."""
    f = tmp_path / "book.csv"
    pl.DataFrame({"id": ["A", "B", "C"], "date": ["2025-09-01"] * 3, "from": ["US"] * 3, "to": ["DE"] * 3,
                  "chip": ["H100 SXM", "", "B200"], "item": ["", "{not json", ""], "quantity": ["8"] * 3,
                  "consignee_country": ["DE"] * 3}).write_csv(f)
    r = runner.invoke(app, ["batch", str(f), "-o", str(tmp_path / "out.parquet")])
    assert "lines in: 3 = decided 2 + rejected 1" in r.output, r.output
    assert sorted(pl.read_parquet(tmp_path / "out.parquet")["id"].to_list()) == ["A", "C"]
    assert pl.read_csv(tmp_path / "out.rejects.csv")["id"].to_list() == ["B"]
