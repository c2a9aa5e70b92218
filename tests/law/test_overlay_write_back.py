"""The GP10 overlay writes its decision columns back through ``overlays._series``, which builds a
list column from its distinct lists: the same Series as ``pl.Series(values, dtype=...)``, null
lists and empty lists included."""

from __future__ import annotations

import polars as pl

from aiexport.law.overlays import _series, write_back


def test_series_from_distinct_lists_is_the_plain_series():
    lists = [["GP10", "3A090.a.1"], None, [], ["GP10", "3A090.a.1"], ["3A090.a.1", "GP10"], None, []]
    for values, dtype in ((lists, pl.List(pl.String)), (["LICENSE_REQUIRED", None, "NLR"], pl.String)):
        assert _series(values, dtype).equals(pl.Series(values, dtype=dtype))


def test_write_back_replaces_only_the_rows_given():
    frame = pl.DataFrame({
        "outcome": ["NLR", "NLR", "NLR"], "license_exception": [None, None, None],
        "review_policy": [None, None, None], "obligations": [[], [], []], "rules": [["a"], ["b"], ["c"]],
        "needs_facts": [[], ["x"], []],
    }, schema_overrides={"license_exception": pl.String, "review_policy": pl.String, "obligations": pl.List(pl.String)})
    out = write_back(frame, [0, 2], {
        "outcome": ["LICENSE_REQUIRED", "LICENSE_REQUIRED"], "license_exception": [None, None],
        "review_policy": ["denial", None], "obligations": [["GP10 obligation"], None],
        "rules": [["a", "GP10"], ["c", "GP10"]], "needs_facts": [[], []],
    })
    assert out["outcome"].to_list() == ["LICENSE_REQUIRED", "NLR", "LICENSE_REQUIRED"]
    assert out["obligations"].to_list() == [["GP10 obligation"], [], None]
    assert out["rules"].to_list() == [["a", "GP10"], ["b"], ["c", "GP10"]]
    assert out["review_policy"].to_list() == ["denial", None, None]
