"""Hardware metrics of the Technical Notes to ECCN 3A090, in exact arithmetic.

Quantities are held as integers in micro-units (10^-6 of a TOPS, of a mm2, of a GB/s) so that
threshold comparisons are exact and vectorise; a threshold q is compared as
``value * q.denominator >= q.numerator * other`` — never by dividing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import polars as pl

MICRO = 1_000_000
INT64_MAX = 2**63 - 1
# Products of micro-unit integers are computed in Int64 (Polars wraps on overflow, silently):
# a product is trusted only below this bound, which leaves room for a threshold's denominator.
SAFE_PRODUCT = INT64_MAX // 1024

# Bit length of the operation per precision column (Technical Note to 3A090: "the largest
# bit-length of the inputs to the multiply"). TF32's inputs are 19-bit (1+8+10); Epoch AI's
# dataset uses 19 too. The conservative reading (the 32-bit register) is selectable.
PRECISIONS: dict[str, int] = {
    "fp64": 64,
    "tf32": 19,
    "fp16": 16,
    "fp8": 8,
    "int8": 8,
    "fp4": 4,
}
DEFAULT_TF32_BITS = 19
H100_SXM_TPP = 15832


def bit_lengths(tf32_bits: int = DEFAULT_TF32_BITS) -> dict[str, int]:
    if tf32_bits not in (19, 32):
        raise ValueError("tf32 bit length must be 19 (format width) or 32 (register width)")
    return {**PRECISIONS, "tf32": tf32_bits}


def to_micro(value: Decimal | int | str) -> int:
    """Exact conversion to micro-units; refuses values finer than 10^-6."""
    d = Decimal(str(value)) * MICRO
    if d != d.to_integral_value():
        raise ValueError(f"{value} has more than 6 decimal places")
    return int(d)


def from_micro(value: int | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value) / MICRO).normalize() if value % MICRO else Decimal(value // MICRO)


@dataclass(frozen=True)
class ProcessingUnit:
    """A processing unit's dense peak throughput per precision, in TOPS (2 x MacTOPS)."""

    dense_tops: Mapping[str, Decimal | int | str]

    def tpp(self, tf32_bits: int = DEFAULT_TF32_BITS) -> Decimal | None:
        bits = bit_lengths(tf32_bits)
        values = [
            Decimal(str(tops)) * bits[prec]
            for prec, tops in self.dense_tops.items()
            if tops is not None and prec in bits
        ]
        return max(values) if values else None


@dataclass(frozen=True)
class Die:
    area_mm2: Decimal | int | str
    logic: bool = True
    non_planar: bool = True


@dataclass
class IntegratedCircuit:
    """An IC as the Technical Notes see it: processing units and dies."""

    units: list[ProcessingUnit]
    dies: list[Die] = field(default_factory=list)

    def total_processing_performance(self, tf32_bits: int = DEFAULT_TF32_BITS) -> Decimal | None:
        return total_processing_performance(self.units, tf32_bits)

    def applicable_die_area(self) -> Decimal | None:
        return applicable_die_area(self.dies)

    def performance_density(self, tf32_bits: int = DEFAULT_TF32_BITS) -> Decimal | None:
        return performance_density(
            self.total_processing_performance(tf32_bits), self.applicable_die_area()
        )


def total_processing_performance(
    units: Iterable[ProcessingUnit], tf32_bits: int = DEFAULT_TF32_BITS
) -> Decimal | None:
    """TPP = sum over processing units of 2 x MacTOPS x bit length, each at its highest-TPP
    precision, dense values only (Technical Note 1 to 3A090)."""
    per_unit = [u.tpp(tf32_bits) for u in units]
    known = [t for t in per_unit if t is not None]
    return sum(known, Decimal(0)) if known else None


def applicable_die_area(dies: Iterable[Die]) -> Decimal | None:
    """All logic dies made on a non-planar process; memory stacks (HBM) are not logic dies."""
    dies = list(dies)
    if not dies:
        return None
    return sum(
        (Decimal(str(d.area_mm2)) for d in dies if d.logic and d.non_planar), Decimal(0)
    )


def performance_density(tpp: Decimal | None, area: Decimal | None) -> Decimal | None:
    """TPP / applicable die area, for display; undefined (None) when no non-planar logic area."""
    if tpp is None or area is None or area == 0:
        return None
    return tpp / area


def meets_density(tpp: Decimal, area: Decimal, threshold: Decimal | str) -> bool:
    """tpp / area >= threshold, decided without division."""
    q = Fraction(Decimal(str(threshold)))
    return Fraction(tpp) * q.denominator >= q.numerator * Fraction(area)


def memory_bandwidth_density(bandwidth_gbps: Decimal, package_area_mm2: Decimal) -> Decimal:
    return Decimal(str(bandwidth_gbps)) / Decimal(str(package_area_mm2))


def h100_equivalents(tpp: Decimal | int) -> Decimal:
    return Decimal(str(tpp)) / H100_SXM_TPP


# ---- the same formulas as Polars expressions over micro-unit columns ----------------------

THROUGHPUT_COLUMNS = {prec: f"tops_{prec}" for prec in PRECISIONS}


def tpp_expr(tf32_bits: int = DEFAULT_TF32_BITS) -> pl.Expr:
    """Highest (dense TOPS x bit length) over the known precisions; else the stated TPP."""
    bits = bit_lengths(tf32_bits)
    products = [pl.col(c) * bits[p] for p, c in THROUGHPUT_COLUMNS.items()]
    return pl.max_horizontal(products).fill_null(pl.col("tpp_stated"))


def tpp_basis_expr(tf32_bits: int = DEFAULT_TF32_BITS) -> pl.Expr:
    """Which precision set the TPP (for the explanation)."""
    bits = bit_lengths(tf32_bits)
    best = pl.max_horizontal([pl.col(c) * bits[p] for p, c in THROUGHPUT_COLUMNS.items()])
    expr = pl.when(best.is_null() & pl.col("tpp_stated").is_not_null()).then(
        pl.lit("stated TPP")
    )
    for p, c in THROUGHPUT_COLUMNS.items():
        expr = expr.when(pl.col(c) * bits[p] == best).then(
            pl.format("{} {} TOPS x {}", pl.lit(p.upper()), fmt_micro(pl.col(c)), pl.lit(bits[p]))
        )
    return expr.otherwise(pl.lit(None, dtype=pl.String))


def applicable_area_expr() -> pl.Expr:
    return pl.when(pl.col("non_planar").fill_null(True)).then(pl.col("die_area")).otherwise(0)


def ge_const(col: pl.Expr, threshold: Fraction) -> pl.Expr:
    """col (micro-units) >= threshold (units), exactly."""
    return col * threshold.denominator >= threshold.numerator * MICRO


def ratio_ge(num: pl.Expr, den: pl.Expr, threshold: Fraction) -> pl.Expr:
    """num / den >= threshold, exactly and without division; null where den is unknown or 0."""
    return pl.when(den > 0).then(num * threshold.denominator >= den * threshold.numerator)


def ratio_gt(num: pl.Expr, den: pl.Expr, threshold: Fraction) -> pl.Expr:
    return pl.when(den > 0).then(num * threshold.denominator > den * threshold.numerator)


def fmt_micro(col: pl.Expr) -> pl.Expr:
    """Display a micro-unit integer as a plain decimal (display only; decisions never use it)."""
    whole = (col // MICRO).cast(pl.String)
    frac = (col % MICRO).cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    return (
        pl.when(col % MICRO == 0).then(whole).otherwise(pl.format("{}.{}", whole, frac))
        .fill_null(pl.lit("unknown"))
    )


def fmt_ratio(num: pl.Expr, den: pl.Expr, digits: int = 2) -> pl.Expr:
    return (
        pl.when(den > 0).then((num / den).round(digits).cast(pl.String))
        .when(den == 0).then(pl.lit("undefined"))
        .otherwise(pl.lit("unknown"))
    )


def product_overflows(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """True where a * b (Int64) would leave the exact range (estimated in Float64, no wrap)."""
    return (a.cast(pl.Float64).abs() * b.cast(pl.Float64).abs() > SAFE_PRODUCT).fill_null(False)
