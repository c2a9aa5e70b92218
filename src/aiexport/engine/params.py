"""Dated, cited parameters: the law as data.

Every parameter lives in a YAML file under ``aiexport/law/parameters``; each value is keyed by
the date it takes effect and carries its citation. A value without a citation is refused at load
time, so an uncited number cannot reach a decision.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

POSTURES = ("enforced", "codified")


class ParameterError(ValueError):
    """A parameter file is malformed (missing citation, bad date, unknown name)."""


@dataclass(frozen=True)
class Value:
    """One dated value of a parameter, with the citation it rests on."""

    name: str
    value: Any
    cite: str
    since: dt.date
    posture: str = "both"

    @property
    def fraction(self) -> Fraction:
        """The value as an exact fraction (thresholds are compared without division)."""
        if self.value is None:
            raise ParameterError(f"parameter {self.name!r} is not in force since {self.since}")
        return Fraction(Decimal(str(self.value)))


@dataclass
class Parameter:
    name: str
    description: str
    unit: str
    source_file: str
    values: list[Value] = field(default_factory=list)  # sorted by date

    def history(self, posture: str | None = None) -> list[Value]:
        return [v for v in self.values if posture is None or v.posture in ("both", posture)]

    def at(self, on: dt.date, posture: str = "enforced") -> Value | None:
        hist = self.history(posture)
        dates = [v.since for v in hist]
        i = bisect.bisect_right(dates, on) - 1
        return hist[i] if i >= 0 else None


def _as_date(raw: Any, where: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError as exc:
        raise ParameterError(f"{where}: expected a date YYYY-MM-DD, got {raw!r}") from exc


def _load_parameter(name: str, spec: dict, source: str) -> Parameter:
    where = f"{source}: {name}"
    if not isinstance(spec, dict) or "values" not in spec:
        raise ParameterError(f"{where}: expected a mapping with 'values'")
    param = Parameter(
        name=name,
        description=str(spec.get("description", "")),
        unit=str(spec.get("unit", "")),
        source_file=source,
    )
    for raw_date, entry in spec["values"].items():
        since = _as_date(raw_date, where)
        entries = entry if isinstance(entry, list) else [entry]
        for e in entries:
            if not isinstance(e, dict) or "value" not in e:
                raise ParameterError(f"{where} @ {since}: expected {{value, cite}}")
            cite = str(e.get("cite") or "").strip()
            if not cite:
                raise ParameterError(f"{where} @ {since}: a value needs a citation ('cite')")
            posture = e.get("posture", "both")
            if posture not in ("both", *POSTURES):
                raise ParameterError(f"{where} @ {since}: posture must be both|enforced|codified")
            param.values.append(Value(name, e["value"], cite, since, posture))
    param.values.sort(key=lambda v: v.since)
    return param


def _load_group(group: str, spec: dict, source: str) -> Parameter:
    """A country group as a dated parameter whose value is the member set on each date."""
    where = f"{source}: {group}"
    base = spec.get("base") or {}
    if not base.get("cite"):
        raise ParameterError(f"{where}: the base membership needs a citation")
    members = set(base.get("members") or [])
    bad = [m for m in members | {c for ch in spec.get("changes") or [] for c in (ch.get("add") or []) + (ch.get("remove") or [])}
           if not (isinstance(m, str) and len(m) == 2 and m.isupper())]
    if bad:  # e.g. YAML 1.1 reads an unquoted NO (Norway) as false
        raise ParameterError(f"{where}: members must be ISO alpha-2 codes, got {bad!r} (quote \"NO\")")
    param = Parameter(f"group:{group}", str(spec.get("description", "")), "countries", source)
    param.values.append(Value(param.name, frozenset(members), str(base["cite"]), _as_date(base["date"], where)))
    for change in sorted(spec.get("changes") or [], key=lambda c: str(c["date"])):
        if not change.get("cite"):
            raise ParameterError(f"{where} @ {change.get('date')}: a membership change needs a citation")
        members = (members | set(change.get("add") or [])) - set(change.get("remove") or [])
        param.values.append(Value(param.name, frozenset(members), str(change["cite"]), _as_date(change["date"], where)))
    return param


# The parameter reads of the running context (``reads``), when one is recording them.
_reads: ContextVar[list | None] = ContextVar("aiexport_parameter_reads", default=None)


@contextmanager
def reads() -> Iterator[list[tuple]]:
    """Every parameter read (``ParameterStore.at``, which every ``Snapshot`` read goes through) in
    this context, as (store, name, date, posture, value) tuples, in order. Recordings nest: an
    outer one also gets the reads of an inner one. Per context (thread, task): reads made by
    another thread at the same time are not in it."""
    outer = _reads.get()
    mine: list[tuple] = []
    token = _reads.set(mine)
    try:
        yield mine
    finally:
        _reads.reset(token)
        if outer is not None:
            outer.extend(mine)


def versions(read: list[tuple], store: ParameterStore) -> frozenset | None:
    """A recording of ``reads`` as the versions read from ``store``: (name, posture, id of the
    version) for each read; None when another store was read (never the same as anything)."""
    if any(st is not store for st, *_ in read):
        return None
    return frozenset((name, posture, id(v)) for _, name, _, posture, v in read)


def recorded(build: Callable[[], Any], store: ParameterStore) -> tuple[Any, frozenset | None]:
    """(``build()``, the parameter versions it read from ``store``: ``versions``)."""
    with reads() as read:
        value = build()
    return value, versions(read, store)


@lru_cache(maxsize=1024)  # (it holds its stores: a reform's store lives on until its entries go)
def same_versions(store: ParameterStore, posture: str, read: frozenset, epoch: int) -> bool:
    """Every parameter of ``read`` (``versions``) has the same version on the first day of
    ``epoch`` (an index into ``store.boundaries(posture)``): what was computed from those reads
    holds in that epoch too, if it read nothing else that depends on the date. A parameter's
    versions follow one another in time, so the epochs where a set of reads holds are consecutive.
    The store is in the key: its id cannot be reused while the entry lives."""
    day = store.boundaries(posture)[epoch]
    return all(id(store.at(name, day, post)) == vid for name, post, vid in read)


class ParameterStore:
    """All parameters, queryable as of a date and under a posture."""

    def __init__(self, parameters: dict[str, Parameter], timeline: list[dict]):
        self.parameters = parameters
        self.timeline = timeline
        self._boundaries: dict[str, list[dt.date]] = {}

    @classmethod
    def load(cls, directory: Path | None = None) -> ParameterStore:
        if directory is None:
            directory = Path(str(resources.files("aiexport.law") / "parameters"))
        params: dict[str, Parameter] = {}
        timeline: list[dict] = []
        for path in sorted(directory.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if path.stem == "facts":  # the fact registry, see aiexport.law.facts
                continue
            if path.stem == "timeline":
                timeline = [dict(t, effective=_as_date(t["effective"], path.name)) for t in data]
                continue
            if "groups" in data:
                for group, spec in data.pop("groups").items():
                    param = _load_group(group, spec, path.name)
                    params[param.name] = param
            for name, spec in data.items():
                if name in params:
                    raise ParameterError(f"{path.name}: parameter {name!r} defined twice")
                params[name] = _load_parameter(name, spec, path.name)
        return cls(params, timeline)

    def __contains__(self, name: str) -> bool:
        return name in self.parameters

    def parameter(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(f"unknown parameter {name!r}") from None

    def at(self, name: str, on: dt.date, posture: str = "enforced") -> Value | None:
        v = self.parameter(name).at(on, posture)
        reads = _reads.get()
        if reads is not None:
            reads.append((self, name, on, posture, v))
        return v

    def snapshot(self, on: dt.date, posture: str = "enforced") -> Snapshot:
        return Snapshot(self, on, posture)

    def boundaries(self, posture: str = "enforced") -> list[dt.date]:
        """Every date on which some parameter or rule version changes, under the posture."""
        if posture not in self._boundaries:
            dates = {v.since for p in self.parameters.values() for v in p.history(posture)}
            dates |= {t["effective"] for t in self.timeline if t["posture"] in ("both", posture)}
            self._boundaries[posture] = sorted(dates)
        return self._boundaries[posture]

    def epoch(self, on: dt.date, posture: str = "enforced") -> int:
        """The epoch of a date: the index of the last boundary on or before it (-1 before the first)."""
        return bisect.bisect_right(self.boundaries(posture), on) - 1

    def rule_set(self, on: dt.date, posture: str = "enforced") -> dict:
        """The latest rule version in force on the date under the posture."""
        current = self.timeline[0]
        for t in self.timeline:
            if t["posture"] in ("both", posture) and t["effective"] <= on:
                if t["effective"] >= current["effective"]:
                    current = t
        return current

    def rule_set_label(self, on: dt.date, posture: str = "enforced") -> str:
        t = self.rule_set(on, posture)
        return f"{t['id']}:{t['effective'].isoformat()}"


class Snapshot:
    """The parameters as of one date under one posture; ``snap.tpp_a1`` is the Value."""

    def __init__(self, store: ParameterStore, on: dt.date, posture: str):
        self._store = store
        self.on = on
        self.posture = posture

    def __getattr__(self, name: str) -> Value:
        if name.startswith("_"):
            raise AttributeError(name)
        v = self._store.at(name, self.on, self.posture)
        if v is None:
            return Value(name, None, "not in force", dt.date.min)
        return v

    def value(self, name: str) -> Any:
        return getattr(self, name).value

    def group(self, name: str) -> frozenset[str]:
        """Members of a country group on the snapshot date (empty if not yet defined)."""
        v = self._store.at(f"group:{name}", self.on, self.posture)
        return v.value if v is not None else frozenset()

    def in_force(self, name: str) -> bool:
        return getattr(self, name).value not in (None, False)

    @property
    def rule_set(self) -> str:
        return self._store.rule_set_label(self.on, self.posture)


@cache
def bundled_store() -> ParameterStore:
    """The bundled law, loaded once."""
    return ParameterStore.load()


# A reform (aiexport.engine.reforms) runs the same engine over a layered store: every rule reads
# its parameters through default_store(), so the reform only has to make its store the current one.
_current: ContextVar[ParameterStore | None] = ContextVar("aiexport_parameter_store", default=None)


def default_store() -> ParameterStore:
    """The store in use: the bundled law, or a reform's store inside ``using_store``."""
    return _current.get() or bundled_store()


@contextmanager
def using_store(store: ParameterStore) -> Iterator[ParameterStore]:
    token = _current.set(store)
    try:
        yield store
    finally:
        _current.reset(token)
