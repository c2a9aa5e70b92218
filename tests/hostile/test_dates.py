"""An order's date is a calendar date written YYYY-MM-DD, in check and in batch alike: never a
number read as seconds since 1970, a timestamp, or a date without its zeros."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from aiexport.batch.validate import validate
from aiexport.io.transactions import DATE_EXPECTED, parse


def _check(value):
    row = {"id": "a", "date": value, "from": "US", "to": "DE", "item": {"chip": "H100 SXM"}, "quantity": 1,
           "consignee": {"country": "DE"}}
    txs, errors, _ = parse([row], "orders.yaml")
    return txs[0].date if txs else errors[0]


def _batch(value: str):
    raw = pl.DataFrame({"row": [1], "id": ["a"], "date": [value], "from": ["US"], "to": ["DE"], "chip": ["H100 SXM"],
                        "quantity": ["1"], "consignee_country": ["DE"]})
    good, rejects = validate(raw, "orders.csv")
    return good.height == 1, rejects["expected"].to_list()


@pytest.mark.parametrize("value", ["0", "86400", "1700000000", "20250901", "2025-9-1", "2025-09-01T00:00:00",
                                   "2025-09-01Z", "2025-02-30", "01/09/2025", "2025-09-01 10:00"])
def test_not_a_date_is_refused_by_both(value):
    err = _check(value)
    assert not isinstance(err, dt.date) and err.column == "date" and err.expected == DATE_EXPECTED
    ok, expected = _batch(value)
    assert not ok and expected == [DATE_EXPECTED]


@pytest.mark.parametrize("value, day", [("2025-09-01", dt.date(2025, 9, 1)), (" 2024-02-29 ", dt.date(2024, 2, 29)),
                                        (dt.date(2023, 11, 17), dt.date(2023, 11, 17))])
def test_a_date_is_read_by_both(value, day):
    assert _check(value) == day
    if isinstance(value, str):
        assert _batch(value) == (True, [])


def test_a_timestamp_from_yaml_is_refused():
    err = _check(dt.datetime(2025, 9, 1, 0, 0))
    assert not isinstance(err, dt.date) and err.expected == DATE_EXPECTED
