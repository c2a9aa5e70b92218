"""What does not change between calls, computed once: the classification of an item in a
parameter epoch.

An item's classification (ECCN, paragraph, NAC/ACA eligibility, needed facts, determining
rules) depends only on the item and on the parameters in force, which are constant within an
epoch of the store. `classify` gives exactly what `classify_item_frames(*build_frames(...))`
gives, computing each distinct (item, epoch) once per process, store and posture and gathering
the rest: a single decision skips the classification query entirely once its chip has been seen,
and a 100,000-line `check` classifies its few hundred distinct items, not 100,000 rows. A first
sight of an item in an epoch is also a lookup when the item was classified in another epoch in
which every parameter that classification read had the same version (``_same_reads``).

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
# (store id, posture, explain) -> (store, {key: row index}, frame of classified rows,
#  {item: [(what its classification read, row index)]})
_store: dict[tuple, tuple[object, dict, pl.DataFrame | None, dict]] = {}


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
    from aiexport.engine.params import default_store, reads
    from aiexport.errors import InputError
    from aiexport.law.classify import _epochs
    from aiexport.law.items import build_frames, classify_item_frames

    if not _enabled or not items:
        ic, comp = build_frames(items, dates, source, rows)
        return classify_item_frames(ic, comp, posture=posture, explain=explain)
    store = default_store()
    ck = (id(store), posture, explain)
    _, index, frame, seen = _store.get(ck) or (store, {}, None, {})
    epochs = None if explain else _epochs(pl.Series(dates, dtype=pl.Date), store, posture).to_list()
    when = dates if explain else epochs
    keys = [_key(item, w) for item, w in zip(items, when, strict=True)]
    # the keys not classified yet, by epoch (one group with explain: the key is the date itself)
    missing: dict[object, dict[tuple, int]] = {}
    for i, k in enumerate(keys):
        if k not in index:
            missing.setdefault(None if explain else k[1], {}).setdefault(k, i)
    had = 0 if frame is None else frame.height
    # epoch by epoch, earliest first: a key is looked up again among the classifications made in
    # the epochs before it, in this call too (the catalog over 28 epochs: ~4 classification queries)
    for epoch in sorted(missing, key=lambda e: -1 if e is None else e):
        todo: dict[tuple, int] = {}
        for k, i in missing[epoch].items():
            row = None if explain else _same_reads(store, posture, seen.get(k[0], ()), k[1])
            if row is None:
                todo[k] = i
            else:
                index[k] = row
        if not todo:
            continue
        with reads() as read:
            try:
                ic, comp = _frames(items, dates, source, rows, list(todo.values()))
            except InputError:
                # the error of the first bad item in row order, as when every key is built at once
                _frames(items, dates, source, rows, sorted(i for m in missing.values() for i in m.values()))
                raise
            new = classify_item_frames(ic, comp, posture=posture, explain=explain)
        if had and frame.height + new.height > MAX_ENTRIES:
            _store.pop(ck, None)  # full: start again (every key of this call is recomputed)
            return classify(items, dates, source, rows, posture=posture, explain=explain)
        start = 0 if frame is None else frame.height
        frame = new if frame is None else pl.concat([frame, new], how="vertical_relaxed")
        index.update({k: start + j for j, k in enumerate(todo)})
        if not explain:
            by_epoch = _reads_by_epoch(read, store, posture)
            for j, k in enumerate(todo):
                seen.setdefault(k[0], []).append((by_epoch.get(k[1]), start + j))
        _store[ck] = (store, index, frame, seen)  # holding the store keeps its id from being reused
    out = frame[[index[k] for k in keys]]
    cols = [pl.int_range(pl.len(), dtype=out.schema["item"]).alias("item"), pl.Series("on", dates, dtype=pl.Date)]
    if not explain:  # a row found under another epoch carries the rule set of its own date
        bounds = store.boundaries(posture)
        label = {e: store.rule_set_label(bounds[e], posture) for e in set(epochs)}
        cols.append(pl.Series("rule_set", [label[e] for e in epochs], dtype=out.schema["rule_set"]))
    return out.with_columns(*cols)


def _frames(items: list, dates: list, source: str, rows: list[int] | None, pos: list[int]):
    """``build_frames`` of the items at positions ``pos``."""
    from aiexport.law.items import build_frames

    return build_frames(
        [items[i] for i in pos], [dates[i] for i in pos], source, [rows[i] if rows else i + 1 for i in pos]
    )


# Epochs of the law (the dates between which no parameter changes) are many more than the
# versions of what classifying an item reads: 28 law epochs, 4 different sets of what the
# classification reads for the catalog's chips and servers. A classification made in one epoch is
# the classification in another epoch if every parameter it read then has the same version in the
# other (it reads nothing else that depends on the date: the date itself is not read, and the rule
# set, read from the rule timeline, is set per row above): same inputs, same code, same answer.
# A first sight of (item, epoch) then costs a lookup instead of a classification query (one
# decision: about 70 ms against 41 ms when every classification is found).


def _reads_by_epoch(read: list[tuple], store, posture: str) -> dict[int, frozenset | None]:
    """The parameter versions a classification read (``engine.params.versions``), per epoch of the
    dates they were read on; None for an epoch in which another store was read (never reused; nor
    is one with no read recorded)."""
    from aiexport.engine.params import versions

    by_epoch: dict[int, list[tuple]] = {}
    for r in read:
        by_epoch.setdefault(store.epoch(r[2], posture), []).append(r)
    return {e: versions(rs, store) for e, rs in by_epoch.items()}


def _same_reads(store, posture: str, entries, epoch: int) -> int | None:
    """The row of a classification of the item (``entries``: what each read, and its row) whose
    every parameter read has the same version in ``epoch``; None if there is none."""
    from aiexport.engine.params import same_versions

    for read, row in entries:
        if read is not None and same_versions(store, posture, read, epoch):
            return row
    return None
