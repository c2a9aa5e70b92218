"""Deterministic synthetic spec rows (strings, like a CSV) for benchmarks and differential tests."""

from __future__ import annotations

import polars as pl

COLUMNS = ["name", "dense_tops_fp16", "dense_tops_fp8", "dense_tops_int8", "die_area_mm2", "marketed_for_datacenter"]


def synthetic_specs(n: int, seed: int = 7) -> pl.DataFrame:
    """n rows around the 3A090 lines: TPP 0..9,600, die area 100..1,000 mm2, datacenter yes/no/unknown."""
    idx = pl.int_range(n, eager=True)
    h = (idx * 2654435761 + seed) % 4294967296
    tops16 = (h % 600_000) / 1000  # 0..600 TFLOPS fp16 -> TPP 0..9600, 3 decimals
    area = 100 + (h // 7 % 900_000) / 1000
    df = pl.DataFrame({"i": idx, "tops16": tops16, "area": area, "h": h})
    return df.select(
        pl.format("synthetic-{}", pl.col("i")).alias("name"),
        pl.col("tops16").round(3).cast(pl.String).alias("dense_tops_fp16"),
        pl.when(pl.col("h") % 3 == 0).then((pl.col("tops16") * 2).round(3).cast(pl.String)).otherwise(pl.lit("")).alias("dense_tops_fp8"),
        pl.lit("").alias("dense_tops_int8"),
        pl.when(pl.col("h") % 11 == 0).then(pl.lit("")).otherwise(pl.col("area").round(3).cast(pl.String)).alias("die_area_mm2"),
        pl.when(pl.col("h") % 5 == 0).then(pl.lit("no")).when(pl.col("h") % 13 == 0).then(pl.lit("")).otherwise(pl.lit("yes")).alias("marketed_for_datacenter"),
    )
