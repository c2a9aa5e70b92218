"""Property tests: monotonicity of the classifier and invariance of TPP to sparsity."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from aiexport.law.items import classify_items

RANK = {None: 0, "3A090.b": 1, "3A090.a": 2}
PRECISIONS = ["dense_tops_fp64", "dense_tops_tf32", "dense_tops_fp16", "dense_tops_fp8", "dense_tops_int8", "dense_tops_fp4"]
DATES = [dt.date(2023, 6, 1), dt.date(2024, 6, 1), dt.date(2026, 11, 26)]

tops = st.integers(min_value=0, max_value=4_000_000_000).map(lambda v: v / 1_000_000)
area = st.integers(min_value=1, max_value=2_000_000_000).map(lambda v: v / 1_000_000)


def _fmt(v: float) -> str:
    return f"{v:.6f}"


@st.composite
def chips(draw):
    spec = {"name": "p", "marketed_for_datacenter": draw(st.sampled_from(["yes", "no"]))}
    for col in draw(st.lists(st.sampled_from(PRECISIONS), min_size=1, max_size=4, unique=True)):
        spec[col] = _fmt(draw(tops))
    spec["die_area_mm2"] = _fmt(draw(area))
    spec["interconnect_bandwidth_gbps"] = _fmt(draw(st.integers(0, 2000)))
    return spec


def _rank(spec, on):
    r = classify_items([{"specs": spec}], on).row(0, named=True)
    assert not r["needs_facts"]
    return RANK[r["eccn"]]


@settings(max_examples=150, deadline=None)
@given(chips(), st.sampled_from(PRECISIONS), tops, st.sampled_from(DATES))
def test_raising_throughput_never_loosens(spec, col, extra, on):
    before = _rank(spec, on)
    raised = dict(spec)
    raised[col] = _fmt(float(spec.get(col, "0")) + extra)
    assert _rank(raised, on) >= before


@settings(max_examples=150, deadline=None)
@given(chips(), st.floats(min_value=0.0, max_value=0.99), st.sampled_from(DATES))
def test_lowering_die_area_never_loosens(spec, factor, on):
    before = _rank(spec, on)
    smaller = dict(spec)
    new_area = max(float(spec["die_area_mm2"]) * factor, 0.000001)
    smaller["die_area_mm2"] = _fmt(new_area)
    assert _rank(smaller, on) >= before


@settings(max_examples=60, deadline=None)
@given(chips(), st.sampled_from(DATES), tops)
def test_tpp_is_invariant_to_sparsity_columns(spec, on, sparse):
    """TPP uses dense figures only: a sparse figure can never change it — since the hostile-input
    work it is refused as an unknown column, naming the dense column to use."""
    import pytest

    from aiexport.errors import InputError

    classify_items([{"specs": spec}], on).row(0, named=True)
    with_sparse = dict(spec, sparse_tops_fp8=_fmt(sparse * 2), sparse_tops_int8=_fmt(sparse * 2))
    with pytest.raises(InputError, match="dense_tops_fp8"):
        classify_items([{"specs": with_sparse}], on)
