"""Numbers over their whole range: every value is either taken exactly or refused with a message —
never wrapped around, never silently unknown, never "not controlled" because of an overflow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from aiexport.io.specs import NUMERIC_COLUMNS, PLAUSIBLE_MAX, normalise
from aiexport.io.transactions import MAX_QUANTITY, parse
from aiexport.law.classify import classify_frame
from aiexport.law.metrics import MICRO, product_overflows

decimals = st.one_of(
    st.integers(min_value=0, max_value=10**40).map(str),
    st.decimals(min_value=0, max_value=Decimal(10) ** 25, places=6, allow_nan=False, allow_infinity=False).map(
        lambda d: format(d, "f")),
    st.integers(min_value=0, max_value=40).map(lambda e: str(10**e)),
    st.integers(min_value=0, max_value=40).map(lambda e: str(10**e - 1)),
)


@settings(max_examples=300, deadline=None)
@given(column=st.sampled_from(sorted(NUMERIC_COLUMNS)), value=decimals)
def test_a_spec_number_is_exact_or_refused(column, value):
    raw = pl.DataFrame({"name": ["X"], column: [value]}, schema={"name": pl.String, column: pl.String})
    result = normalise(raw, "specs.csv")
    top = PLAUSIBLE_MAX[column][0]
    if Decimal(value) > top:
        assert result.frame.height == 0
        assert [e.column for e in result.errors] == [column]
        assert f"at most {top:,}" in result.errors[0].expected
    else:
        assert not result.errors, result.errors
        assert result.frame[NUMERIC_COLUMNS[column]][0] == int(Decimal(value) * MICRO)


@settings(max_examples=200, deadline=None)
@given(tops=decimals)
def test_tpp_never_wraps(tops):
    """Within the accepted range, TPP = 16 x FP16 TOPS exactly, never negative, never unknown."""
    raw = pl.DataFrame({"name": ["X"], "dense_tops_fp16": [tops], "marketed_for_datacenter": ["yes"]})
    result = normalise(raw, "specs.csv")
    if result.errors:
        assert Decimal(tops) > PLAUSIBLE_MAX["dense_tops_fp16"][0]
        return
    out = classify_frame(result.frame, on=dt.date(2025, 6, 2), posture="enforced")
    tpp = out["tpp"][0]
    assert tpp == int(Decimal(tops) * MICRO) * 16
    assert tpp >= 0
    controlled = Decimal(tops) * 16 >= 4800
    assert (out["eccn"][0] == "3A090.a") == controlled


def _tx(q):
    return {"id": "a", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"},
            "quantity": q, "consignee": {"country": "IN"}}


@settings(max_examples=200, deadline=None)
@given(q=st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.integers(min_value=-5, max_value=MAX_QUANTITY + 5)))
def test_quantity_is_a_plausible_whole_number(q):
    ok, errors, _ = parse([_tx(q)], "orders.yaml")
    if 1 <= q <= MAX_QUANTITY:
        assert ok and ok[0].quantity == q and not errors
    else:
        assert not ok and errors[0].column == "quantity"


@settings(deadline=None)
@given(q=st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: x != int(x) if x == x and abs(x) != float("inf") else True))
def test_fractional_or_non_finite_quantity_is_refused(q):
    ok, errors, _ = parse([_tx(q)], "orders.yaml")
    assert not ok and errors[0].column == "quantity"


@settings(deadline=None)
@given(a=st.integers(min_value=0, max_value=2**62), b=st.integers(min_value=0, max_value=2**40))
def test_overflow_is_detected(a, b):
    flagged = pl.select(product_overflows(pl.lit(a, dtype=pl.Int64), pl.lit(b, dtype=pl.Int64))).item()
    if a * b > 2**63 - 1:
        assert flagged
    if a * b < (2**63 - 1) // 2048:
        assert not flagged
