"""The Dask path (`--workers N` / `--scheduler`) gives the single-process output: same rows, same values."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from aiexport.batch.run import run
from aiexport.cli import app
from tests.batch.helpers import generate

pytest.importorskip("dask.distributed")


def test_local_cluster_output_is_identical(tmp_path):
    book = generate(1200, seed=21)
    book = book.with_columns(  # two bad rows, in different partitions
        pl.when(pl.int_range(pl.len()).is_in([5, 900])).then(pl.lit("ZZ")).otherwise(pl.col("to")).alias("to"))
    path = tmp_path / "book.csv"
    book.write_csv(path)
    single = run(path, tmp_path / "single.parquet", chunk_size=500, rejects_path=tmp_path / "single.rejects.csv")
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "dask.parquet"), "--workers", "2",
                                      "--chunk-size", "300", "--rejects", str(tmp_path / "dask.rejects.csv")])
    assert result.exit_code == 3, result.output
    assert "lines in: 1,200 = decided 1,198 + rejected 2" in result.output
    a, b = pl.read_parquet(tmp_path / "single.parquet"), pl.read_parquet(tmp_path / "dask.parquet")
    assert single.decided == 1198 and a.height == b.height == 1198
    assert a.equals(b)
    assert pl.read_csv(tmp_path / "single.rejects.csv").equals(pl.read_csv(tmp_path / "dask.rejects.csv"))
    assert not (tmp_path / "dask.parquet.parts").exists()


def test_local_cluster_reading_a_parquet_book_gives_each_partition_its_repeated_ids(tmp_path):
    """A Parquet book is read by the workers, row group by row group; an id used again in a later
    partition (and at a partition's first and last row) is rejected there as in one process."""
    book = generate(900, seed=29)
    reuse = {0: 300, 299: 600, 450: 899}  # first row (0-based) -> a later row that repeats its id
    ids = book["id"].to_list()
    for first, later in reuse.items():
        ids[later] = ids[first]
    path = tmp_path / "book.parquet"
    book.with_columns(pl.Series("id", ids)).write_parquet(path)
    single = run(path, tmp_path / "single.parquet", chunk_size=900, rejects_path=tmp_path / "single.rejects.csv")
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "dask.parquet"), "--workers", "2",
                                      "--chunk-size", "300", "--rejects", str(tmp_path / "dask.rejects.csv")])
    assert result.exit_code == 3, result.output
    assert single.rejected == 3
    assert pl.read_parquet(tmp_path / "single.parquet").equals(pl.read_parquet(tmp_path / "dask.parquet"))
    rejects = pl.read_csv(tmp_path / "dask.rejects.csv")
    assert rejects.equals(pl.read_csv(tmp_path / "single.rejects.csv"))
    assert rejects["row"].to_list() == [301, 601, 900]
    assert rejects["expected"].to_list() == [f"a unique id (also used in row {f + 1})" for f in reuse]
