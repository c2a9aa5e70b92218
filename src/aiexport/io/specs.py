"""Chip specification rows: read CSV/JSON/YAML, validate, normalise to exact micro-unit columns.

The column names are those of the bundled ``accelerators.csv``. Validation is vectorised so a
million rows cost the same code as one; every rejected cell is reported with its file, row,
column and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from aiexport.errors import InputError
from aiexport.io.files import read_csv, read_document
from aiexport.io.names import unknown_message

# input column -> normalised column (micro-units)
NUMERIC_COLUMNS: dict[str, str] = {
    "dense_tops_fp64": "tops_fp64",
    "dense_tops_tf32": "tops_tf32",
    "dense_tops_fp16": "tops_fp16",
    "dense_tops_fp8": "tops_fp8",
    "dense_tops_int8": "tops_int8",
    "dense_tops_fp4": "tops_fp4",
    "tpp": "tpp_stated",
    "die_area_mm2": "die_area",
    "interconnect_bandwidth_gbps": "interconnect",
    "memory_bandwidth_gbps": "memory_bandwidth",
    "package_area_mm2": "package_area",
}
BOOLEAN_COLUMNS: dict[str, str] = {
    "marketed_for_datacenter": "datacenter",
    "non_planar": "non_planar",
    "co_packaged_with_logic": "co_packaged",
}
# Physically plausible upper bounds, in the column's unit, for one chip or package. A value
# above is refused with a hint at the likely unit mistake: beyond them the exact micro-unit
# integers would overflow, and no part on or near the market comes within a factor of 10.
PLAUSIBLE_MAX: dict[str, tuple[int, str, list[tuple[float, str]]]] = {
    # column: (max, unit, [(factor, the unit it would be in if the value is that much too large)])
    **{c: (1_000_000, "TOPS", [(1e12, "FLOP/s or op/s"), (1e9, "MFLOP/s"), (1e3, "GFLOP/s or GOPS")])
       for c in ("dense_tops_fp64", "dense_tops_tf32", "dense_tops_fp16", "dense_tops_fp8", "dense_tops_int8", "dense_tops_fp4")},
    "tpp": (100_000_000, "TPP", [(1e12, "TOPS x bits in op/s"), (1e3, "GOPS x bits")]),
    "die_area_mm2": (100_000, "mm2", [(1e6, "square micrometres"), (1e2, "mm2 x 100")]),
    "package_area_mm2": (1_000_000, "mm2", [(1e6, "square micrometres")]),
    "interconnect_bandwidth_gbps": (100_000_000, "GB/s", [(1e9, "bytes/s"), (1e3, "MB/s")]),
    "memory_bandwidth_gbps": (100_000_000, "GB/s", [(1e9, "bytes/s"), (1e3, "MB/s")]),
}
NAME_COLUMNS = ("name", "vendor", "model", "variant")
DEVICE_TYPES = ("ic", "hbm")
TRUE = {"yes", "y", "true", "t", "1"}
FALSE = {"no", "n", "false", "f", "0"}
UNKNOWN = {"", "unknown", "?", "null", "none", "ambiguous"}
_DECIMAL = r"^\d+(\.\d{0,6})?$"

NORMALISED_SCHEMA = {
    "row": pl.Int64,
    "name": pl.String,
    **{c: pl.Int64 for c in NUMERIC_COLUMNS.values()},
    **{c: pl.Boolean for c in BOOLEAN_COLUMNS.values()},
    "device_type": pl.String,
}


@dataclass
class SpecsResult:
    frame: pl.DataFrame  # normalised, one row per accepted input row
    errors: list[InputError]
    total: int


@cache
def known_columns() -> frozenset[str]:
    """The spec columns read, plus the descriptive columns of the bundled accelerators.csv
    (release_year, memory_gb, source, notes, ...), which are accepted and not used."""
    catalog = Path(str(resources.files("aiexport.catalog") / "data" / "accelerators.csv"))
    with catalog.open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    return frozenset({*NAME_COLUMNS, *NUMERIC_COLUMNS, *BOOLEAN_COLUMNS, "device_type", *header})


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV, JSON or YAML file of rows as strings (validation comes after)."""
    if path.suffix.lower() == ".csv":
        return read_csv(path).with_columns(pl.all().fill_null(""))
    data = read_document(path)
    if isinstance(data, dict):
        data = data.get("chips") or data.get("specs") or data.get("items") or [data]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(str(path), None, None, "a list of rows (mappings)", type(data).__name__)
    if not data or not any(data):
        raise InputError(str(path), None, None, "at least one row", "an empty list" if not data else "empty rows")
    return rows_to_frame(data)


def rows_to_frame(rows: list[dict]) -> pl.DataFrame:
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    return pl.DataFrame(
        {c: [_as_text(_get(r, c)) for r in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )


def _get(row: dict, column: str):
    if column in row:
        return row[column]
    return next((v for k, v in row.items() if str(k) == column), None)


def _as_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def normalise(raw: pl.DataFrame, source: str, *, row_offset: int = 1) -> SpecsResult:
    """Validate and convert string columns; returns accepted rows and one error per bad cell.

    ``row`` numbers data rows from 1 (for a CSV, line = row + 1 because of the header).
    """
    n = raw.height
    df = raw.with_row_index("row", offset=row_offset).with_columns(pl.col("row").cast(pl.Int64))
    errors: list[InputError] = []
    line_offset = 1 if source.lower().endswith(".csv") else 0

    def bad(mask: pl.Expr, column: str, expected: str) -> None:
        for r in df.filter(mask).select("row", pl.col(column).alias("v")).iter_rows():
            errors.append(InputError(source, r[0], column, expected, r[1], line=r[0] + line_offset if line_offset else None))


    # name: `name`, or vendor/model/variant joined by spaces
    parts = [c for c in ("vendor", "model", "variant") if c in df.columns]
    joined = (
        pl.concat_str([pl.col(c).str.strip_chars() for c in parts], separator=" ").str.strip_chars()
        .str.replace_all(r"\s+", " ")
        if parts
        else pl.lit("")
    )
    name = pl.col("name").str.strip_chars() if "name" in df.columns else pl.lit("")
    df = df.with_columns(
        pl.when(name.fill_null("") != "").then(name).otherwise(joined).alias("__name")
    )
    bad(pl.col("__name").fill_null("") == "", "__name", "a 'name' column, or vendor/model/variant")
    for e in errors:
        e.column = "name"
    known = known_columns()
    for c in raw.columns:
        if c not in known:
            errors.append(InputError(source, None, c, unknown_message("column", c, known), c,
                                     line=1 if line_offset else None))

    out = [pl.col("row"), pl.col("__name").alias("name")]
    for src, dst in NUMERIC_COLUMNS.items():
        if src not in df.columns:
            out.append(pl.lit(None, dtype=pl.Int64).alias(dst))
            continue
        v = pl.col(src).str.strip_chars()
        bad(
            (v != "") & ~v.str.contains(_DECIMAL),
            src,
            "a non-negative decimal number with at most 6 decimal places",
        )
        top, unit, hints = PLAUSIBLE_MAX[src]
        too_big = v.str.contains(_DECIMAL) & (v.str.extract(r"^0*(\d*)", 1).str.len_chars() > len(str(top)) - 1) & (
            v.str.extract(r"^(\d+)", 1).cast(pl.Float64, strict=False) > top)
        for r in df.filter(too_big).select("row", pl.col(src)).iter_rows():
            errors.append(InputError(source, r[0], src, _implausible(r[1], top, unit, hints), r[1],
                                     line=r[0] + line_offset if line_offset else None))
        whole = v.str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
        frac = v.str.extract(r"\.(\d{0,6})$", 1).fill_null("").str.pad_end(6, "0")
        micro = whole * 1_000_000 + frac.cast(pl.Int64, strict=False).fill_null(0)
        out.append(pl.when(v.str.contains(_DECIMAL)).then(micro).alias(dst))
    for src, dst in BOOLEAN_COLUMNS.items():
        if src not in df.columns:
            out.append(pl.lit(None, dtype=pl.Boolean).alias(dst))
            continue
        v = pl.col(src).str.strip_chars().str.to_lowercase()
        bad(
            ~v.is_in(list(TRUE | FALSE | UNKNOWN)),
            src,
            "yes, no, or empty (unknown)",
        )
        out.append(
            pl.when(v.is_in(list(TRUE))).then(True).when(v.is_in(list(FALSE))).then(False)
            .otherwise(None).alias(dst)
        )
    if "device_type" in df.columns:
        v = pl.col("device_type").str.strip_chars().str.to_lowercase()
        bad(~v.is_in(["", *DEVICE_TYPES]), "device_type", "ic or hbm")
        out.append(pl.when(v == "").then(pl.lit("ic")).otherwise(v).alias("device_type"))
    else:
        out.append(pl.lit("ic").alias("device_type"))

    frame = df.select(out)
    if any(e.row is None for e in errors):  # an unknown column: no row can be trusted
        frame = frame.clear()
    elif errors:
        bad_rows = sorted({e.row for e in errors})
        frame = frame.filter(~pl.col("row").is_in(bad_rows))
    return SpecsResult(frame=frame, errors=errors, total=n)


def _implausible(value: str, top: int, unit: str, hints: list[tuple[float, str]]) -> str:
    msg = f"at most {top:,} {unit} for one chip"
    try:
        x = float(value)
    except ValueError:
        return msg
    for factor, other in hints:
        if x / factor <= top:
            return f"{msg} ({value} {unit}: did you give {other}? {value} {other} = {x / factor:g} {unit})"
    return msg + " (check the unit)"


def read_specs(path: Path) -> SpecsResult:
    return normalise(read_table(path), str(path))
