"""What does not change between calls, computed once: the classification of an item in a
parameter epoch.

An item's classification (ECCN, paragraph, NAC/ACA eligibility, needed facts, determining
rules) depends only on the item and on the parameters in force, which are constant within an
epoch of the store. `classify` gives exactly what `classify_item_frames(*build_frames(...))`
gives, computing each distinct (item, epoch) once per process, store and posture and gathering
the rest: a single decision skips the classification query entirely once its chip has been seen,
and a 100,000-line `check` classifies its few hundred distinct items, not 100,000 rows.

With ``explain=True`` the key is the exact date (the reasons' prose is not shared across dates).
The cache holds at most ``MAX_ENTRIES`` rows per store and posture and is cleared when full.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from contextlib import contextmanager

import polars as pl

MAX_ENTRIES = 50_000
_enabled = os.environ.get("AIEXPORT_NO_CACHE", "") == ""
# (store id, posture, explain) -> (store, {key: row index}, frame of classified rows)
_store: dict[tuple, tuple[object, dict, pl.DataFrame | None]] = {}


def enabled() -> bool:
    return _enabled


@contextmanager
def disabled():
    """Run without the cache (the baseline of bench/latency_bench.py, and tests): nor the rules'
    expressions built once per epoch (``engine.plan``)."""
    global _enabled
    before, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = before


def clear() -> None:
    _store.clear()


def _key(item, epoch_or_date) -> tuple:
    return json.dumps(item, sort_keys=True, default=str), epoch_or_date


def classify(
    items: list,
    dates: list[dt.date],
    source: str,
    rows: list[int] | None,
    *,
    posture: str,
    explain: bool,
) -> pl.DataFrame:
    """`classify_item_frames(*build_frames(items, dates, source, rows), posture=, explain=)`, cached."""
    from aiexport.engine.params import default_store
    from aiexport.law.classify import _epochs
    from aiexport.law.items import build_frames, classify_item_frames

    if not _enabled or not items:
        ic, comp = build_frames(items, dates, source, rows)
        return classify_item_frames(ic, comp, posture=posture, explain=explain)
    store = default_store()
    ck = (id(store), posture, explain)
    _, index, frame = _store.get(ck) or (store, {}, None)
    when = dates if explain else _epochs(pl.Series(dates, dtype=pl.Date), store, posture).to_list()
    keys = [_key(item, w) for item, w in zip(items, when, strict=True)]
    missing: dict[tuple, int] = {}
    for i, k in enumerate(keys):
        if k not in index and k not in missing:
            missing[k] = i
    if missing:
        pos = list(missing.values())
        ic, comp = build_frames(
            [items[i] for i in pos],
            [dates[i] for i in pos],
            source,
            [rows[i] if rows else i + 1 for i in pos],
        )
        new = classify_item_frames(ic, comp, posture=posture, explain=explain)
        if frame is not None and frame.height + new.height > MAX_ENTRIES:
            _store.pop(ck, None)  # full: start again (every key of this call is recomputed)
            return classify(items, dates, source, rows, posture=posture, explain=explain)
        start = 0 if frame is None else frame.height
        frame = new if frame is None else pl.concat([frame, new], how="vertical_relaxed")
        index.update({k: start + j for j, k in enumerate(missing)})
        _store[ck] = (store, index, frame)  # holding the store keeps its id from being reused
    out = frame[[index[k] for k in keys]]
    return out.with_columns(
        pl.int_range(pl.len(), dtype=out.schema["item"]).alias("item"),
        pl.Series("on", dates, dtype=pl.Date),
    )
