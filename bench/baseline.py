"""A straightforward scalar implementation of the Oct 2023 3A090 test, one row at a time with
Decimal — the way one would write it without a columnar engine. Used as the benchmark baseline
and as an independent oracle in the differential test; never used by the product."""

from __future__ import annotations

from decimal import Decimal

BITS = {"dense_tops_fp64": 64, "dense_tops_tf32": 19, "dense_tops_fp16": 16, "dense_tops_fp8": 8,
        "dense_tops_int8": 8, "dense_tops_fp4": 4}


def classify_row(row: dict) -> str | None:
    vals = [Decimal(row[c]) * b for c, b in BITS.items() if row.get(c) not in (None, "")]
    if not vals:
        return "?"
    tpp = max(vals)
    area = Decimal(row["die_area_mm2"]) if row.get("die_area_mm2") not in (None, "") else None
    dc = row.get("marketed_for_datacenter")
    if tpp >= 4800:
        return "3A090.a"
    if dc == "no":
        return None
    if tpp < 1600:
        return None
    if area is None or area == 0:
        return "?"
    pd = tpp / area
    level = None
    if pd >= Decimal("5.92"):
        level = "3A090.a"
    elif (tpp >= 2400 and pd >= Decimal("1.6")) or pd >= Decimal("3.2"):
        level = "3A090.b"
    if level and dc not in ("yes", "no"):
        return "?"
    return level
