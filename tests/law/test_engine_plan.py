"""The engine's reuse of rule expressions (engine.plan) and the label tables: the same values as
evaluating the expressions directly, on every row."""

from __future__ import annotations

import polars as pl
import pytest

from aiexport.engine import cache, plan
from aiexport.law.classify import _labels, label_table
from aiexport.law.reach.rules import labels


def test_label_table_rows_are_the_labels_of_their_bits():
    ids = ("a", "b", "c", "")
    table = label_table(ids)
    assert table.len() == 16
    for m in range(16):
        assert table[m].to_list() == [x for i, x in enumerate(ids) if m >> i & 1]


def test_labels_by_table_equal_the_labels_joined_and_split():
    frame = pl.DataFrame({"x": [True, None, False, True], "y": [True, True, None, False]})
    got = frame.select(labels([("p", pl.col("x")), ("q", pl.col("y"))]).alias("l"))["l"].to_list()
    assert got == [["p", "q"], ["q"], [], ["p"]]
    got = pl.select(_labels(pl.lit(pl.Series([0, 1, 2, 3])), ["u", "v"]).alias("l"))["l"].to_list()
    assert got == [[], ["u"], ["v"], ["u", "v"]]


def test_by_distinct_equals_with_columns_on_every_row():
    n = 5_000
    frame = pl.DataFrame(
        {
            "a": [i % 3 for i in range(n)],
            "s": [None if i % 7 == 0 else f"s{i % 5}" for i in range(n)],
            "l": [[] if i % 4 == 0 else [f"x{i % 2}", "y"] for i in range(n)],
            "other": list(range(n)),
        }
    )
    exprs = [
        pl.concat_list([pl.col("l"), pl.concat_list([pl.col("s")]).list.drop_nulls()])
        .list.unique(maintain_order=True)
        .alias("u"),
        (pl.col("other") * 2).alias("twice"),
        pl.when(pl.col("a") == 1).then(pl.col("s")).otherwise(pl.lit("no")).alias("s"),
    ]
    direct = frame.with_columns(*exprs)
    got = plan.by_distinct(frame, exprs, ("u", "s"))
    assert got.columns == direct.columns
    assert got.equals(direct)


def test_by_distinct_never_groups_floats():
    frame = pl.DataFrame({"f": [0.0, -0.0, float("nan"), float("nan")] * 1000})
    expr = pl.col("f").cast(pl.String).alias("t")
    assert plan.by_distinct(frame, [expr], ("t",)).equals(frame.with_columns(expr))


def _book(n: int) -> pl.DataFrame:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from orderbook import generate

    from aiexport.batch.core import decide_chunk

    raw = (
        generate(n, seed=11)
        .with_row_index("row", offset=1)
        .with_columns(pl.col("row").cast(pl.Int64))
    )
    return decide_chunk(raw).decided


def test_chunk_decided_alike_above_and_below_the_distinct_threshold(monkeypatch):
    """A book decided with the distinct path (default threshold) and without it (threshold above
    the chunk) gives the same frame."""
    fast = _book(6_000)
    monkeypatch.setattr(plan, "DISTINCT_FROM", 10**9)
    slow = _book(6_000)
    assert fast.equals(slow)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_reach_rules_stage_by_stage_equal_each_epoch_evaluated_alone(posture, monkeypatch):
    """A chunk spanning many epochs runs the reach rules stage by stage, each stage once over the
    consecutive epochs in which it read the same parameter versions (``reach._by_stage``). Each
    epoch's rows evaluated alone, with that epoch's own snapshot, give the same frame."""
    from aiexport.engine.params import default_store
    from aiexport.law import reach, reach_step
    from aiexport.law.classify import _epochs

    seen: list[pl.DataFrame] = []
    real = reach_step.apply
    monkeypatch.setattr(reach_step, "apply", lambda frame, **kw: seen.append(frame) or real(frame, **kw))
    _book(6_000)
    frame = seen[0].filter(pl.col("date") >= reach_step.first_day()).with_row_index("__i")
    store = default_store()
    epochs = _epochs(frame["date"], store, posture)
    assert epochs.n_unique() >= 10 and frame.height >= plan.OPTIMISE_FROM
    got = reach.reach_frame(frame, posture=posture)
    bounds = store.boundaries(posture)
    with cache.disabled():  # each epoch's own rules, built afresh
        alone = pl.concat(
            [reach.evaluate_reach(part.drop("__e"), store.snapshot(bounds[e], posture))
             for (e,), part in frame.with_columns(epochs.alias("__e")).group_by(["__e"])],
            how="vertical_relaxed",
        ).sort("__i")
    assert got.columns == alone.columns
    assert got.equals(alone)
    assert reach.reach_frame(frame, posture=posture, ordered=False).sort("__i").equals(alone)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_licence_rules_over_many_epochs_equal_each_epoch_evaluated_alone(posture, monkeypatch):
    """``decide_frame`` runs the licence rules once over the consecutive epochs in which they read
    the same parameter versions, and labels each row with its own epoch's rule set. Each epoch's
    rows evaluated alone, with that epoch's own snapshot, give the same frame, in either order."""
    from aiexport.batch import core
    from aiexport.engine.params import default_store
    from aiexport.law import license
    from aiexport.law.classify import _epochs

    seen: list[pl.DataFrame] = []
    real = core.decide_frame
    monkeypatch.setattr(core, "decide_frame", lambda frame, **kw: seen.append(frame) or real(frame, **kw))
    _book(6_000)
    frame = seen[0].with_row_index("__k")
    store = default_store()
    epochs = _epochs(frame["date"], store, posture)
    bounds = store.boundaries(posture)
    labels = {store.rule_set_label(bounds[e], posture) for e in epochs.unique()}
    assert epochs.n_unique() >= 15 and len(labels) >= 8
    with cache.disabled():  # each epoch's own rules, built afresh
        alone = pl.concat(
            [license.evaluate(part.drop("__e"), store.snapshot(bounds[e], posture))
             for (e,), part in frame.with_columns(epochs.alias("__e")).group_by(["__e"])],
            how="vertical_relaxed",
        ).sort("__k").with_columns(pl.lit(posture).alias("posture"))
    got = license.decide_frame(frame, posture=posture)
    assert got.equals(alone)
    plan.clear()  # each epoch alone through the cache, which hands an epoch a plan built in another
    parts = frame.with_columns(epochs.alias("__e")).partition_by("__e", as_dict=True)
    cached = pl.concat(
        [license.evaluate(parts[(e,)].drop("__e"), store.snapshot(bounds[e], posture)) for (e,) in sorted(parts)],
        how="vertical_relaxed",
    ).sort("__k").with_columns(pl.lit(posture).alias("posture"))
    assert cached.equals(alone)
    assert license.decide_frame(frame, posture=posture, ordered=False).sort("__k").equals(alone)


def test_a_plan_asked_for_inside_a_recording_records_what_it_reads():
    """A cached plan read nothing when found: asked for inside another recording (a build that
    calls it), it is built again, so the outer recording knows what it depends on."""
    import datetime as dt

    from aiexport.engine.params import default_store, reads
    from aiexport.law import license

    p = default_store().snapshot(dt.date(2025, 6, 1), "enforced")
    license._plan(p)
    license._plan(p)  # found in the cache (and the check of its versions too)
    with reads() as outer:
        license._plan(p)
    assert "ac_rule_version" in {name for _, name, *_ in outer}
