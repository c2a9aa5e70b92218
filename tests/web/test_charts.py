"""The ledger burn-down SVG (no browser): remaining share after each entry, on a date axis."""

from __future__ import annotations

import re
from decimal import Decimal

from aiexport.app.charts import B, H, T, burn_down


def test_burn_down_steps_to_the_remaining_share_on_each_date():
    svg = burn_down([{"account": "lic:A", "limit": Decimal(10), "points": [("2025-01-05", Decimal(7)), ("2025-03-01", Decimal(0))]}])
    ys = [float(v) for v in re.findall(r"V([0-9.]+)", svg)]
    assert ys == [round(T + 0.3 * (H - T - B), 1), float(H - B)]  # 70 % left, then nothing
    assert "2025-01-05" in svg and "2025-03-01" in svg and "lic:A" in svg
    assert "<title" in svg and "remaining 0" in svg  # the text alternative


def test_burn_down_without_accounts_is_an_empty_chart():
    svg = burn_down([])
    assert "no accounts" in svg and "<path" not in svg
