"""The classification cache (aiexport.engine.cache) gives what the uncached functions give."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from aiexport.engine import cache
from aiexport.errors import InputError
from aiexport.law.items import build_frames, classify_item_frames

ITEMS = [
    {"chip": "H100 SXM"}, {"chip": "A800 SXM"}, {"server": [{"chip": "H100 SXM", "count": 8}]},
    {"chip": "RTX 4090"}, {"chip": "H100 SXM"}, {"chip": "RTX 4090", "marketed_for_datacenter": "yes"},
    {"specs": {"name": "mine", "dense_tops_fp16": "300", "die_area_mm2": "800", "marketed_for_datacenter": "no"}},
]
DATES = [dt.date(2022, 11, 1), dt.date(2023, 12, 1), dt.date(2024, 6, 1), dt.date(2025, 6, 1), dt.date(2026, 8, 1),
         dt.date(2023, 12, 2), dt.date(2024, 1, 1)]


@pytest.mark.parametrize("explain", [False, True])
@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_cached_classification_equals_uncached(posture, explain):
    cache.clear()
    expected = classify_item_frames(*build_frames(ITEMS, DATES, "t"), posture=posture, explain=explain)
    first = cache.classify(ITEMS, DATES, "t", None, posture=posture, explain=explain)  # fills the cache
    shuffled = list(reversed(range(len(ITEMS))))
    again = cache.classify([ITEMS[i] for i in shuffled], [DATES[i] for i in shuffled], "t", None, posture=posture, explain=explain)
    assert first.equals(expected)
    assert again.drop("item").equals(expected[shuffled].drop("item"))
    assert again["item"].to_list() == list(range(len(ITEMS)))


def test_a_bad_item_is_reported_with_its_row_when_others_are_cached():
    cache.clear()
    cache.classify([{"chip": "H100 SXM"}], [dt.date(2024, 6, 1)], "t", [1], posture="enforced", explain=False)
    with pytest.raises(InputError) as e:
        cache.classify([{"chip": "H100 SXM"}, {"chip": "No Such Chip 9000"}], [dt.date(2024, 6, 1)] * 2, "orders.csv", [4, 7],
                       posture="enforced", explain=False)
    assert (e.value.file, e.value.row, e.value.column) == ("orders.csv", 7, "item.chip")


def test_disabled_is_the_uncached_path():
    cache.clear()
    with cache.disabled():
        assert not cache.enabled()
        cache.classify(ITEMS, DATES, "t", None, posture="enforced", explain=False)
    assert cache.enabled() and cache._store == {}


def _every_epoch(posture: str, by_item: bool) -> tuple[list, list, pl.DataFrame]:
    """Every test item on every date the law changes since 2021 and the day before (item by item,
    or date by date), and their classification made afresh."""
    from aiexport.engine.params import default_store

    days = sorted({d for b in default_store().boundaries(posture) if b.year >= 2021
                   for d in (b, b - dt.timedelta(days=1))})
    pairs = [(it, d) for it in ITEMS for d in days] if by_item else [(it, d) for d in days for it in ITEMS]
    its, when = [it for it, _ in pairs], [d for _, d in pairs]
    return its, when, classify_item_frames(*build_frames(its, when, "t"), posture=posture, explain=False)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_a_classification_found_under_another_epoch_is_the_classification_of_this_one(posture, monkeypatch):
    """Every item on every date the law changes (and the day before): the cache, which reuses a
    classification made in another epoch when everything it read is the same there, gives what
    classifying each date afresh gives, rule set included; and it did reuse."""
    from aiexport.law import items as items_module

    its, when, expected = _every_epoch(posture, by_item=True)
    classified: list[int] = []
    real = items_module.classify_item_frames

    def spy(ic, comp, **kw):
        out = real(ic, comp, **kw)
        classified.append(out.height)
        return out

    monkeypatch.setattr(items_module, "classify_item_frames", spy)
    cache.clear()
    got = [cache.classify([it], [d], "t", None, posture=posture, explain=False) for it, d in zip(its, when, strict=True)]
    assert pl.concat(got).drop("item").equals(expected.drop("item"))
    assert sum(classified) < len(its) / 3  # most (item, epoch) first sights were found, not classified


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_one_call_over_every_epoch_reuses_within_the_call(posture, monkeypatch):
    """The same, in one call (a book's chunk, a long `check`): the call classifies epoch by epoch and
    looks each key up among the classifications it made in earlier epochs, so it runs far fewer
    classification queries than the epochs it meets, and gives what classifying afresh gives."""
    from aiexport.engine.params import default_store
    from aiexport.law import items as items_module

    its, when, expected = _every_epoch(posture, by_item=False)
    queries: list[int] = []
    real = items_module.classify_item_frames
    monkeypatch.setattr(items_module, "classify_item_frames",
                        lambda ic, comp, **kw: queries.append(1) or real(ic, comp, **kw))
    cache.clear()
    got = cache.classify(its, when, "t", None, posture=posture, explain=False)
    assert got.drop("item").equals(expected.drop("item"))
    from aiexport.law.classify import _epochs

    epochs = len(set(_epochs(pl.Series(when, dtype=pl.Date), default_store(), posture).to_list()))
    assert len(queries) <= epochs / 3


def test_the_first_bad_item_in_row_order_is_reported_when_bad_items_are_in_different_epochs():
    """Classified epoch by epoch, the error is still the first bad row's (as when every key was
    built at once): here the later epoch's bad item comes first."""
    cache.clear()
    items = [{"chip": "H100 SXM"}, {"chip": "No Such Chip 1"}, {"chip": "No Such Chip 2"}]
    dates = [dt.date(2022, 11, 1), dt.date(2026, 8, 1), dt.date(2022, 11, 1)]
    with pytest.raises(InputError) as e:
        cache.classify(items, dates, "orders.csv", [2, 3, 4], posture="enforced", explain=False)
    assert e.value.row == 3 and "No Such Chip 1" in str(e.value.got)


def test_parameter_reads_are_recorded_per_context_and_nest():
    import threading

    from aiexport.engine.params import default_store, reads

    store = default_store()
    day = dt.date(2025, 6, 1)
    with reads() as outer:
        store.at("ac_rule_version", day)
        with reads() as inner:
            store.at("tpp_a1", day, "codified")
        other = threading.Thread(target=lambda: store.at("tpp_a2", day))
        other.start()
        other.join()
    assert [(n, p) for _, n, _, p, _ in inner] == [("tpp_a1", "codified")]
    assert [(n, p) for _, n, _, p, _ in outer] == [("ac_rule_version", "enforced"), ("tpp_a1", "codified")]
