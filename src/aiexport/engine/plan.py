"""Rule expressions built once and replayed on every frame (issue 11, "one decision fast").

The rules are functions of a parameter snapshot that add columns to a frame: ``frame.with_columns
(...)``, ``frame.drop(...)``. Their expressions do not depend on the data, only on the snapshot
(and, for a few, on which columns the frame has), yet building them in Python cost about half of
one decision (tens of thousands of ``pl.lit``/``pl.when`` calls per call). A ``Plan`` is passed to
the same rule functions in place of the frame: it records what they do, and ``replay`` does it to
a real ``LazyFrame``. The rules stay one implementation; only their expressions are reused.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from types import GeneratorType
from typing import Any

import polars as pl


def _kept(args: tuple) -> tuple:
    """The arguments of a recorded call, replayable more than once (a generator can be consumed
    once only: its items are kept)."""
    return tuple(list(a) if isinstance(a, GeneratorType) else a for a in args)


class Plan:
    """The ``with_columns`` / ``drop`` calls made on a LazyFrame, recorded for replay."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: list[tuple[str, tuple, dict]] = []

    def with_columns(self, *exprs: Any, **named: Any) -> Plan:
        self.ops.append(("with_columns", _kept(exprs), named))
        return self

    def with_columns_by_distinct(self, *exprs: pl.Expr, distinct: tuple[str, ...]) -> Plan:
        """``with_columns(*exprs)``; on frames of ``DISTINCT_FROM`` rows or more, the expressions
        named in ``distinct`` (row-wise) are evaluated once per distinct tuple of the columns they
        read (see ``by_distinct``)."""
        self.ops.append(("by_distinct", exprs, {"distinct": distinct}))
        return self

    def drop(self, *columns: Any, **kwargs: Any) -> Plan:
        self.ops.append(("drop", _kept(columns), kwargs))
        return self

    def replay(self, lf: pl.LazyFrame, rows: int = 0) -> pl.LazyFrame:
        """The recorded calls on ``lf``; ``rows``: its height, when known (``by_distinct`` pays on
        large frames only)."""
        for name, args, kwargs in self.ops:
            if name == "by_distinct":
                lf = (
                    by_distinct(collect(lf), list(args), **kwargs).lazy()
                    if rows >= DISTINCT_FROM
                    else lf.with_columns(*args)
                )
            else:
                lf = getattr(lf, name)(*args, **kwargs)
        return lf


DISTINCT_FROM = 2_000
# Polars' in-memory engine: a rule query on one row plans and runs in about half the time of the
# default streaming engine's, and no slower on a chunk of a book (same results: the queries are
# row-wise)
ENGINE = "in-memory"


# A rule query over a few rows (one decision, an API call) runs faster without Polars' query
# optimisations (common subexpressions, simplification: a one-row decision 10-15 % faster); they
# preserve the results, and pay on chunks of a book
OPTIMISE_FROM = DISTINCT_FROM


def collect(lf: pl.LazyFrame, rows: int | None = None) -> pl.DataFrame:
    """``lf`` collected; ``rows``: its height, when known (a small frame skips the optimiser)."""
    if rows is not None and rows < OPTIMISE_FROM:
        return lf.collect(engine=ENGINE, optimizations=pl.QueryOptFlags.none())
    return lf.collect(engine=ENGINE)


def by_distinct(
    frame: pl.DataFrame, exprs: list[pl.Expr], distinct: tuple[str, ...]
) -> pl.DataFrame:
    """``frame.with_columns(*exprs)``, where each expression named in ``distinct`` is evaluated
    once per distinct tuple of the columns those expressions read and given to every row with
    that tuple (the others run on every row, as ``with_columns`` runs them).

    Exact for row-wise expressions (each row's value a function of that row's values: no
    aggregation, window, ``len`` or order-dependent function), which is what the callers name.
    The columns read are Polars' own account of each expression (``meta.root_names``), so no
    read is missed; a rule that reads a column only if the frame has it decides that when its
    expressions are built, and what it reads then is in ``root_names``. Float columns are never
    keys (0.0 and -0.0, or NaNs, group together though a rule could tell them apart): with one,
    the expressions run on every row."""
    chosen = [e for e in exprs if e.meta.output_name() in distinct]
    cols = sorted({c for e in chosen for c in e.meta.root_names()})
    schema = frame.schema  # built on each access: read once
    if not chosen or not cols or any(schema[c].is_float() for c in cols):
        return frame.with_columns(*exprs)
    groups = frame.select(cols).with_row_index("__distinct_i").group_by(cols).agg("__distinct_i")
    values = groups.select("__distinct_i", *chosen).explode("__distinct_i").sort("__distinct_i")
    return frame.with_columns(
        *(values[e.meta.output_name()] if e.meta.output_name() in distinct else e for e in exprs)
    )


def record(stage: Callable[..., Any], *args: Any) -> Plan:
    """The plan of ``stage(frame, *args)``."""
    plan = stage(Plan(), *args)
    if not isinstance(plan, Plan):
        raise TypeError(f"{stage!r} did not return the frame it was given")
    return plan


# (key, store id, posture) -> (the store, [(the versions a build read, what it built)])
_plans: dict[Hashable, tuple[Any, list]] = {}
MAX_PLANS = 512


def by_versions(key: Hashable, p: Any, build: Callable[[], Any]) -> tuple[Any, frozenset | None]:
    """(``build()``, the parameter versions it read: ``engine.params.versions``), built once per
    ``key`` and set of versions: a snapshot ``p`` of another epoch in which everything an earlier
    build read has the same version gets that build (the builds read nothing else that depends on
    the date). The store is held with its entries: its id cannot be reused while they live."""
    from aiexport.engine import cache
    from aiexport.engine.params import _reads, recorded, same_versions

    store = p._store
    epoch = store.epoch(p.on, p.posture)
    # not looked up inside another recording (a build that calls this one): a hit reads nothing,
    # and the outer build would not know what this one read
    if cache.enabled() and epoch >= 0 and _reads.get() is None:
        _, entries = _plans.setdefault((key, id(store), p.posture), (store, []))
        for read, value in entries:
            if read is not None and same_versions(store, p.posture, read, epoch):
                return value, read
    value, got = recorded(build, store)
    if cache.enabled():
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        _plans.setdefault((key, id(store), p.posture), (store, []))[1].append((got, value))
    return value, got


def runs(store: Any, posture: str, epochs: Iterable[int], build: Callable[[int], tuple[Any, frozenset | None]]
         ) -> list[tuple[Any, list[int]]]:
    """``epochs`` (in the order given) in runs of consecutive ones in which everything ``build``
    read for the run's first epoch has the same version (``engine.params.same_versions``):
    [(what ``build`` built for the first, [the run's epochs])]. ``build(epoch)``: (a value, the
    versions building it read), as ``by_versions`` gives them; built once per run."""
    from aiexport.engine.params import same_versions

    out: list[list] = []  # [value, versions read, epochs]
    for e in epochs:
        last = out[-1] if out else None
        if last is not None and last[1] is not None and same_versions(store, posture, last[1], e):
            last[2].append(e)
        else:
            out.append([*build(e), [e]])
    return [(value, es) for value, _, es in out]


def clear() -> None:
    _plans.clear()
