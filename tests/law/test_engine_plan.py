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


def _reach_input(monkeypatch) -> pl.DataFrame:
    """A generated chunk as the reach rules get it, from their first day on."""
    from aiexport.law import reach_step

    seen: list[pl.DataFrame] = []
    real = reach_step.apply
    monkeypatch.setattr(reach_step, "apply", lambda frame, **kw: seen.append(frame) or real(frame, **kw))
    _book(6_000)
    monkeypatch.setattr(reach_step, "apply", real)
    return seen[0].filter(pl.col("date") >= reach_step.first_day())


def _each_epoch_alone(frame: pl.DataFrame, posture: str, authorizations=None) -> pl.DataFrame:
    """``reach.evaluate_reach`` on each epoch's rows with that epoch's own snapshot, its rules
    built afresh, in the order of the frame's ``__i``."""
    from aiexport.engine.params import default_store
    from aiexport.law import reach
    from aiexport.law.classify import _epochs

    store = default_store()
    bounds = store.boundaries(posture)
    epochs = _epochs(frame["date"], store, posture)
    with cache.disabled():
        return pl.concat(
            [reach.evaluate_reach(part.drop("__e"), store.snapshot(bounds[e], posture), authorizations)
             for (e,), part in frame.with_columns(epochs.alias("__e")).group_by(["__e"])],
            how="vertical_relaxed",
        ).sort("__i")


def _few_rows_of_every_epoch(frame: pl.DataFrame, posture: str) -> pl.DataFrame:
    from aiexport.engine.params import default_store
    from aiexport.law.classify import _epochs

    epochs = _epochs(frame["date"], default_store(), posture)
    few = frame.with_columns(epochs.alias("__e")).group_by("__e", maintain_order=True).head(40)
    return few.drop("__e").with_row_index("__i")


@pytest.mark.parametrize("with_veu", [False, True])
@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_reach_rules_on_a_few_rows_of_many_epochs_equal_each_epoch_alone(posture, with_veu, monkeypatch):
    """Fewer rows than a chunk (a short check over many dates) are evaluated once per group of
    epochs in which every stage read the same parameter versions (``reach._merged``), the VEU
    stage with authorizations on record included. Each epoch alone gives the same frame."""
    from aiexport.engine.params import default_store
    from aiexport.law import reach
    from aiexport.law.classify import _epochs
    from aiexport.law.reach import VeuAuthorization

    frame = _few_rows_of_every_epoch(_reach_input(monkeypatch), posture)
    auths = None
    if with_veu:
        nveu = VeuAuthorization.model_validate(
            {"id": "NVEU-VN-1", "kind": "nveu", "holder": "Saigon Compute JSC", "headquarters": "VN",
             "sites": [{"country": "VN"}], "eccns": ["4A090", "3A090"], "valid_from": "2025-01-13",
             "allocation_tpp": 200000})
        auths = {nveu.id: nveu}
        frame = frame.with_columns(
            pl.when(pl.col("to") == "VN").then(pl.lit("NVEU-VN-1")).otherwise(pl.lit(None, pl.String))
            .alias("rf_veu_id"))
    store = default_store()
    epochs = _epochs(frame["date"], store, posture)
    assert frame.height < plan.OPTIMISE_FROM and epochs.n_unique() >= 10
    merged = reach._merged(store, posture, epochs.unique().to_list(),
                           lambda e: reach._stages(store.snapshot(store.boundaries(posture)[e], posture),
                                                   frame.columns, auths))
    assert len(set(merged.values())) < epochs.n_unique()  # some epochs do share their stages
    alone = _each_epoch_alone(frame, posture, auths)
    got = reach.reach_frame(frame, posture=posture, authorizations=auths)
    assert got.columns == alone.columns
    assert got.equals(alone)
    if with_veu:  # the authorizations on record are read (the rows naming one get other answers)
        assert not got.equals(reach.reach_frame(frame, posture=posture))


def test_epochs_share_reach_rules_only_where_every_parameter_they_read_agrees(monkeypatch):
    """Which epochs share the reach rules' queries is decided by what the stages read, not by a
    list of the parameters they are expected to read: a stage that reads a parameter outside the
    reach and country-group ones (here, a probe added to the embargo stage) still sees that
    parameter's value on each row's own date."""
    from itertools import pairwise

    from aiexport.engine.params import default_store, same_versions
    from aiexport.law import reach

    frame = _few_rows_of_every_epoch(_reach_input(monkeypatch), "enforced")
    store = default_store()
    days = frame["date"].unique().sort().to_list()
    # a parameter that changes between two dates on which every reach and group parameter has the
    # same version (a list of names expected to be read would put both dates in one query)
    expected = [n for n in sorted(store.parameters) if n.startswith(("reach_", "group:"))]

    def version(n, d):
        return getattr(store.at(n, d, "enforced"), "since", None)

    name = next(
        n for d1, d2 in pairwise(days)
        if all(version(e, d1) == version(e, d2) for e in expected)
        for n in sorted(store.parameters)
        if n not in expected and version(n, d1) != version(n, d2)
    )
    real = reach.embargo_requirements

    def probed(f, p):
        return real(f, p).with_columns(pl.lit(str(p.value(name))).alias("__probe"))

    monkeypatch.setattr(reach, "embargo_requirements", probed)
    plan.clear()
    same_versions.cache_clear()
    try:
        got = reach.reach_frame(frame, posture="enforced")
    finally:
        plan.clear()
    want = [str(store.snapshot(d, "enforced").value(name)) for d in got["date"].to_list()]
    assert got["__probe"].to_list() == want


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_one_row_folded_alone_equals_its_row_of_the_whole_frame(posture, monkeypatch):
    """``reach_step.fold`` on a frame of one case (one decision) computes that case's outputs in
    one query, without splitting by case: each row folded alone equals its row when the whole
    frame, of every case, is split by case."""
    from aiexport.law import reach, reach_step

    frame = _few_rows_of_every_epoch(_reach_input(monkeypatch), posture)
    reached = reach.reach_frame(frame, posture=posture)
    cases = reached.select(reach_step._case())[:, 0]
    picked = reached.with_columns(cases.alias("__c")).group_by("__c").head(12).sort("__i").drop("__c")
    assert cases.n_unique() >= 5
    whole = reach_step.fold(picked)
    alone = pl.concat([reach_step.fold(picked[i:i + 1]) for i in range(picked.height)], how="vertical_relaxed")
    assert alone.columns == whole.columns
    assert alone.equals(whole)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_a_few_dates_find_their_epochs_as_a_column_of_dates_does(posture, monkeypatch):
    """``_epochs`` on a few dates (bisect) and on a column (Polars' search): the same epoch for
    every boundary, the day before it and the day after, and a date before the first."""
    import datetime as dt

    from aiexport.engine.params import default_store
    from aiexport.law import classify

    bounds = default_store().boundaries(posture)
    days = [bounds[0] - dt.timedelta(days=400)] + [
        b + dt.timedelta(days=k) for b in bounds for k in (-1, 0, 1)
    ]
    store = default_store()
    few = [classify._epochs(pl.Series("date", [d], dtype=pl.Date), store, posture) for d in days]
    monkeypatch.setattr(classify, "_BISECT_UP_TO", -1)
    column = classify._epochs(pl.Series("date", days, dtype=pl.Date), store, posture)
    assert pl.concat(few).equals(column)
    assert column[0] == -1 and column.to_list()[2::3] == list(range(len(bounds)))
