"""Exact amounts: Decimal in Python, NUMERIC(38,6) on PostgreSQL, integer micro-units on SQLite.

SQLite has no exact decimal type (NUMERIC affinity falls back to REAL), so amounts are stored
there as integers scaled by 10**6; SUM over them stays exact.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.types import TypeDecorator

SCALE = 6
_FACTOR = 10**SCALE
_QUANTUM = Decimal(1).scaleb(-SCALE)
# Fits a signed 64-bit SQLite integer after scaling, with headroom for sums.
MAX_ABS = Decimal(10) ** 12


class AmountError(ValueError):
    """An amount that is not a finite decimal with at most six places."""


def to_amount(value: object) -> Decimal:
    """Parse an exact amount (int, Decimal or decimal string); floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError(f"an exact decimal (int, Decimal or string), not {type(value).__name__}")
    try:
        d = Decimal(value.strip().replace("_", "")) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise AmountError("a decimal number") from None
    if not d.is_finite():
        raise AmountError("a finite decimal number")
    # Magnitude first: quantizing a huge value overflows the decimal context's precision.
    if abs(d) >= MAX_ABS:
        raise AmountError(f"an amount below {MAX_ABS:,}")
    if d != d.quantize(_QUANTUM, rounding="ROUND_DOWN"):
        raise AmountError(f"at most {SCALE} decimal places")
    return d


def fmt(d: Decimal) -> str:
    """The shortest exact text of an amount: 790000000, 12.5 (never exponent notation)."""
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def norm(d: Decimal) -> Decimal:
    """An amount with trailing zeros dropped (5.000000 -> 5) and no exponent form."""
    return Decimal(fmt(d))


class Amount(TypeDecorator):
    impl = Numeric(38, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(38, SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        d = to_amount(value)
        if dialect.name == "sqlite":
            return int(d * _FACTOR)
        return d

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return norm(Decimal(int(value)) / _FACTOR)
        return norm(Decimal(value))
