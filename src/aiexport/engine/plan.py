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


class Plan:
    """The ``with_columns`` / ``drop`` calls made on a LazyFrame, recorded for replay."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: list[tuple[str, tuple, dict]] = []

    def with_columns(self, *exprs: Any, **named: Any) -> Plan:
        # a generator can be consumed once only: keep its expressions
        self.ops.append(("with_columns", tuple(list(e) if isinstance(e, GeneratorType) else e for e in exprs), named))
        return self

    def drop(self, *columns: Any, **kwargs: Any) -> Plan:
        self.ops.append(("drop", tuple(list(c) if isinstance(c, GeneratorType) else c for c in columns), kwargs))
        return self

    def replay(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        for name, args, kwargs in self.ops:
            lf = getattr(lf, name)(*args, **kwargs)
        return lf


def record(stage: Callable[..., Any], *args: Any) -> Plan:
    """The plan of ``stage(frame, *args)``."""
    plan = stage(Plan(), *args)
    if not isinstance(plan, Plan):
        raise TypeError(f"{stage!r} did not return the frame it was given")
    return plan


_plans: dict[Hashable, tuple[Any, Any]] = {}
MAX_PLANS = 512


def cached(key: Hashable, build: Callable[[], Any], keep: Iterable[Any] = ()) -> Any:
    """``build()`` once per ``key``. ``keep``: objects whose ``id`` is part of the key, held so
    that the id cannot be reused by another object while the entry lives."""
    hit = _plans.get(key)
    if hit is not None:
        return hit[1]
    value = build()
    if len(_plans) >= MAX_PLANS:
        _plans.clear()
    _plans[key] = (tuple(keep), value)
    return value


def clear() -> None:
    _plans.clear()
