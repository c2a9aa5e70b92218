"""Reforms: changes layered over the bundled law, as data.

A reform is a YAML file with ``name``, ``rationale`` and ``changes``. Each change carries its own
name, rationale and a citation (or ``proposal: true``) and is one of:

* a parameter override (``parameter``, ``value``): thresholds, dates, the LPP limit, allocations;
* a country move (``country``, ``add_to`` / ``remove_from``): country groups and the Tier-1 list;
* a rule switched on or off (``rule``, ``enabled``): expressed as the parameters that gate it;
* a notice (``notice``: a mapping as in ``aiexport check --notices``).

A reform never changes the bundled law: ``build_store`` returns a NEW ``ParameterStore`` (a
distinct object, so caches keyed on the store never mix baseline and reform) whose changed
parameters are new objects; ``using_store`` makes it the store every rule reads, so the reform runs
through exactly the same engine as the baseline.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aiexport.engine.params import Parameter, ParameterStore, Value, bundled_store, using_store
from aiexport.errors import InputError, InputErrors

__all__ = ["Reform", "Change", "LoadedReform", "load_reform", "parse_reform", "bundled_reforms", "using_store", "GATES"]


@dataclass(frozen=True)
class Gate:
    """How a rule (or exception) is switched on or off: the parameters that gate it."""

    description: str
    since: dt.date
    # (parameter, value when enabled, value when disabled); "latest" = the latest bundled non-null value
    params: tuple[tuple[str, Any, Any], ...]


D = dt.date
GATES: dict[str, Gate] = {
    "ai-diffusion": Gate(
        "The AI Diffusion framework as a whole (90 FR 4544): the worldwide 3A090.a/4A090.a licence requirement, "
        "License Exceptions AIA/ACM/LPP, and the 4E091 licence requirement",
        D(2025, 5, 15),
        (("diffusion_binding", True, False), ("model_weights_binding", True, False), ("model_weights_not_enforced", False, True)),
    ),
    "742.6(a)(6)(iii)(A).worldwide": Gate(
        "The Diffusion rule's worldwide licence requirement for 3A090.a/4A090.a, with its exceptions AIA, ACM, LPP",
        D(2025, 5, 15), (("diffusion_binding", True, False),)),
    "742.6(a)(13)": Gate(
        "The 4E091 (model weights) licence requirement, worldwide", D(2025, 5, 15),
        (("model_weights_binding", True, False), ("model_weights_not_enforced", False, True))),
    "4E091": Gate("ECCN 4E091 (model weights) exists", D(2025, 1, 13), (("model_weights_eccn", True, False),)),
    "3A090.c": Gate("ECCN 3A090.c (high-bandwidth memory)", D(2024, 12, 2), (("hbm_memory_bandwidth_density", "latest", None),)),
    "740.25.HBM": Gate("License Exception HBM", D(2024, 12, 2), (("license_exception_hbm_ceiling", "latest", None),)),
    "740.8.NAC": Gate("License Exception NAC (and ACA, which is split from it)", D(2023, 11, 17), (("nac_available", True, False),)),
    "740.8.ACA": Gate("License Exception ACA (without it, NAC is used)", D(2024, 4, 4), (("aca_available", True, False),)),
    "742.6(b)(10)(iii)(A)(1)": Gate(
        "91 FR 1684: case-by-case review for exports from the US to China/Macau below 21,000 TPP and 6,500 GB/s",
        D(2026, 1, 15), (("china_case_by_case_tpp", "latest", None), ("china_case_by_case_dram_bandwidth", "latest", None))),
    "742.6(a)(6)(iii)(B).UAE": Gate("91 FR 43034: the UAE named in the 3A090.b/4A090.b licence scope", D(2026, 7, 10),
                                    (("uae_named_in_b_scope", True, False),)),
    "91 FR 43034.license-free": Gate("91 FR 43034: licence-free paths for the UAE government and Supp. No. 8 entities",
                                     D(2026, 7, 10), (("uae_license_free_paths", True, False),)),
    "GP10": Gate("General Prohibition 10 for PRC-developed 3A090 ICs (BIS guidance of 2025-05-13)", D(2025, 5, 13),
                 (("gp10_prc_ic_presumption", True, False),)),
    "3A090.a.note1.presumption": Gate("Note 1 to 3A090.a: the foundry due-diligence presumption (fabs and OSATs)",
                                      D(2025, 1, 31), (("foundry_presumption", True, False),)),
}

CHANGE_KINDS = ("parameter", "country", "rule", "notice")
HK_NOTE = "HK is treated as China (CN) under the EAR; move CN instead"


class Change(BaseModel):
    """One change of a reform. Exactly one of parameter / country / rule / notice."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    cite: str | None = None
    proposal: bool = False
    from_: dt.date | None = Field(None, alias="from")
    posture: Literal["both", "enforced", "codified"] = "both"
    parameter: str | None = None
    value: Any = None
    country: str | list[str] | None = None  # one ISO alpha-2 code or a list
    add_to: list[str] = Field(default_factory=list)
    remove_from: list[str] = Field(default_factory=list)
    rule: str | None = None
    enabled: bool | None = None
    notice: dict | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Change:
        kinds = [k for k in CHANGE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("exactly one of parameter, country, rule or notice (got " + (", ".join(kinds) or "none") + ")")
        if not (self.cite and self.cite.strip()) and not self.proposal:
            raise ValueError("a citation ('cite') or 'proposal: true'")
        if self.parameter is not None and "value" not in self.model_fields_set:
            raise ValueError("a 'value' for the parameter (null switches it off)")
        if self.country is not None and not (self.add_to or self.remove_from):
            raise ValueError("'add_to' and/or 'remove_from' (country groups, e.g. Tier1, A:5, D:5)")
        if self.rule is not None and self.enabled is None:
            raise ValueError("'enabled: true' or 'enabled: false' for the rule")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CHANGE_KINDS if getattr(self, k) is not None)

    @property
    def source(self) -> str:
        return self.cite.strip() if self.cite and self.cite.strip() else "proposal (no legal source)"

    def summary(self) -> str:
        when = f" from {self.from_}" if self.from_ else ""
        post = "" if self.posture == "both" else f" ({self.posture} posture)"
        if self.parameter is not None:
            return f"{self.parameter} = {self.value!r}{when}{post}"
        if self.country is not None:
            moves = [f"+{g}" for g in self.add_to] + [f"-{g}" for g in self.remove_from]
            who = self.country if isinstance(self.country, str) else ", ".join(self.country)
            return f"{who}: {' '.join(moves)}{when}{post}"
        if self.rule is not None:
            return f"rule {self.rule} {'on' if self.enabled else 'off'}{when}{post}"
        return f"notice {self.notice.get('id') if isinstance(self.notice, dict) else '?'}"


class Reform(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    label: str | None = None  # e.g. "hypothetical", "proposal", "restates the law"
    source: str | None = None
    changes: list[Change]


@dataclass
class LoadedReform:
    """A validated reform with the parameter store it builds and the notices it adds."""

    reform: Reform
    path: str
    store: ParameterStore
    notices: list = field(default_factory=list)
    # one store per change, for attributing a flip to the change(s) that cause it
    single_stores: list[tuple[ParameterStore, list]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.reform.name


def _closest(word: str, options: list[str]) -> str:
    hits = difflib.get_close_matches(word, options, n=3, cutoff=0.4)
    return " (did you mean " + " or ".join(repr(h) for h in hits) + "?)" if hits else ""


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, frozenset):
        return "group"
    if isinstance(value, list):
        return "list"
    if isinstance(value, int | float):
        return "number"
    try:
        Decimal(str(value))
        return "number"
    except InvalidOperation:
        pass
    try:
        dt.date.fromisoformat(str(value))
        return "date"
    except ValueError:
        return "text"


def _check_value(param: Parameter, value: Any, where: tuple[str, int, str]) -> Any:
    kinds = {_kind_of(v.value) for v in param.values if v.value is not None}
    if value is None or not kinds:
        return value
    file, row, col = where
    kind = kinds.pop() if len(kinds) == 1 else "text"
    if kind == "number":
        if isinstance(value, bool) or _kind_of(value) != "number":
            raise InputError(file, row, col, f"a number for {param.name} ({param.unit})", value)
        if Decimal(str(value)) < 0:
            raise InputError(file, row, col, f"a non-negative number for {param.name}", value)
        return str(value) if isinstance(value, str) else value
    if kind == "flag" and not isinstance(value, bool):
        raise InputError(file, row, col, f"true or false for {param.name}", value)
    if kind == "list" and not (isinstance(value, list) and all(isinstance(x, str) for x in value)):
        raise InputError(file, row, col, f"a list of names for {param.name}", value)
    if kind == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            raise InputError(file, row, col, f"a date YYYY-MM-DD for {param.name}", value) from None
        return str(value)
    if kind == "text" and not isinstance(value, str):
        raise InputError(file, row, col, f"a text value for {param.name} (one of: "
                         + ", ".join(sorted({str(v.value) for v in param.values if v.value is not None})) + ")", value)
    return value


def _override(param: Parameter, value: Any, since: dt.date, posture: str, cite: str) -> Parameter:
    """The parameter with ``value`` from ``since`` on, under the posture(s); earlier values kept."""
    other = {"enforced": "codified", "codified": "enforced"}
    kept: list[Value] = []
    for v in param.values:
        if v.since < since or (posture != "both" and v.posture == other[posture]):
            kept.append(v)
        elif posture != "both" and v.posture == "both":  # still holds for the other posture
            kept.append(replace(v, posture=other[posture]))
    kept.append(Value(param.name, value, cite, since, posture))
    kept.sort(key=lambda v: v.since)
    return replace(param, values=kept)


def _move(param: Parameter, country: str, add: bool, since: dt.date, cite: str) -> Parameter:
    """A country added to (or removed from) a group from ``since`` on, in every later dated list."""
    at = param.at(since, "enforced")
    base = at.value if at is not None else frozenset()
    values = [v for v in param.values if v.since < since]
    values.append(Value(param.name, (base | {country}) if add else (base - {country}), cite, since))
    for v in param.values:
        if v.since > since:
            values.append(replace(v, value=(v.value | {country}) if add else (v.value - {country})))
    values.sort(key=lambda v: v.since)
    return replace(param, values=values)


def _latest(param: Parameter) -> Any:
    return next((v.value for v in reversed(param.values) if v.value not in (None, False)), None)


def _apply(params: dict[str, Parameter], reform: Reform, i: int, c: Change, file: str) -> list:
    """Apply change ``i`` to ``params`` in place; returns the notices it adds."""
    row = i + 1
    cite = f"reform {reform.name!r}, change {c.name!r}: {c.source}"
    if c.parameter is not None:
        groups = [n for n in params if n.startswith("group:")]
        if c.parameter not in params or c.parameter in groups:
            options = [n for n in params if n not in groups]
            hint = " — country groups change with 'country' + 'add_to'/'remove_from'" if c.parameter.startswith("group:") else ""
            raise InputError(file, row, "parameter", "a parameter of the law (see `aiexport rules show`)"
                             + _closest(c.parameter, options) + hint, c.parameter)
        p = params[c.parameter]
        value = _check_value(p, c.value, (file, row, "value"))
        params[c.parameter] = _override(p, value, c.from_ or p.values[0].since, c.posture, cite)
        return []
    if c.country is not None:
        codes = []
        for raw in [c.country] if isinstance(c.country, str) else c.country:
            code = raw.strip().upper()
            if code == "HK":
                raise InputError(file, row, "country", HK_NOTE, raw)
            if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
                raise InputError(file, row, "country", "ISO 3166-1 alpha-2 country codes, e.g. AE (quote \"NO\")", raw)
            codes.append(code)
        names = [n.removeprefix("group:") for n in params if n.startswith("group:")]
        for add, groups, col in ((True, c.add_to, "add_to"), (False, c.remove_from, "remove_from")):
            for g in groups:
                if g not in names:
                    raise InputError(file, row, col, "a country group: " + ", ".join(names) + _closest(g, names), g)
                for code in codes:
                    p = params[f"group:{g}"]
                    params[p.name] = _move(p, code, add, c.from_ or p.values[0].since, cite)
        return []
    if c.rule is not None:
        gate = GATES.get(c.rule)
        if gate is None:
            raise InputError(file, row, "rule", "a rule that can be switched: " + ", ".join(GATES) + _closest(c.rule, list(GATES)), c.rule)
        for name, on_value, off_value in gate.params:
            p = params[name]
            value = on_value if c.enabled else off_value
            if value == "latest":
                value = _latest(bundled_store().parameter(name))
            params[name] = _override(p, value, c.from_ or gate.since, c.posture, cite)
        return []
    from aiexport.law.overlays import parse_notice  # the same notice format as `check --notices`

    if c.from_ is not None or c.posture != "both":
        raise InputError(file, row, "notice", "a notice carries its own 'from' and applies to both postures", c.from_)
    notice = parse_notice({"enabled": True, **c.notice}, file, row)
    return [notice]


def parse_reform(data: Any, path: str, base: ParameterStore | None = None) -> LoadedReform:
    """Validate a reform document and build its store (every error names file, change and field)."""
    if not isinstance(data, dict):
        raise InputError(path, None, None, "a reform mapping {name, rationale, changes: [...]}", type(data).__name__)
    try:
        reform = Reform.model_validate(data)
    except ValidationError as exc:
        errors, seen = [], set()
        for e in exc.errors():
            loc = [x for x in e["loc"] if not (isinstance(x, str) and (x == "str" or x.startswith("list[")))]  # union branches
            row = None
            if len(loc) >= 2 and loc[0] == "changes" and isinstance(loc[1], int):
                row = loc[1] + 1
                loc = loc[2:]
            col = ".".join(str(x) for x in loc) or None
            if col == "from_":
                col = "from"
            msg = e["msg"].removeprefix("Value error, ").replace("Input should be ", "").replace("Field required", "a value (required)")
            if e["type"] == "string_type" and isinstance(e.get("input"), bool):
                msg = "text, e.g. a country code (YAML reads an unquoted NO as false: write \"NO\")"
            if e["type"] == "extra_forbidden":
                allowed = Change.model_fields if row else Reform.model_fields
                names = [("from" if k == "from_" else k) for k in allowed]
                msg = "one of the fields " + ", ".join(names) + _closest(str(loc[-1]), names)
            got = e.get("input") if e["type"] != "missing" else None
            if (row, col) in seen:
                continue
            seen.add((row, col))
            errors.append(InputError(path, row, col, msg, got if not isinstance(got, dict) else None))
        # a union field (country: one code or a list) fails on both branches: keep the specific error
        errors = [e for e in errors if not any(o is not e and o.row == e.row and e.column and (o.column or "").startswith(e.column + ".")
                                               for o in errors)]
        raise InputErrors(errors) from None
    base = base or bundled_store()
    params = dict(base.parameters)
    notices: list = []
    singles: list[tuple[ParameterStore, list]] = []
    for i, c in enumerate(reform.changes):
        notices += _apply(params, reform, i, c, path)
        one = dict(base.parameters)
        singles.append((ParameterStore(one, list(base.timeline)), _apply(one, reform, i, c, path)))
    store = ParameterStore(params, list(base.timeline))
    return LoadedReform(reform, path, store, notices, singles)


def load_reform(path: Path | str) -> LoadedReform:
    """A reform file (YAML or JSON), or the name of a bundled reform."""
    p = Path(path)
    if not p.exists():
        bundled = {r.stem: r for r in bundled_reform_paths()}
        if str(path) in bundled:
            p = bundled[str(path)]
        else:
            raise InputError(str(path), None, None, "a reform file (YAML) or a bundled reform: " + ", ".join(bundled)
                             + _closest(str(path), list(bundled)), "no such file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(str(p), None, None, "valid YAML" + (f" (line {mark.line + 1})" if mark else ""), str(exc).splitlines()[0]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(p), None, None, "a readable UTF-8 text file", str(exc)) from None
    return parse_reform(data, str(p))


def bundled_reform_paths() -> list[Path]:
    folder = Path(str(resources.files("aiexport") / "reforms"))
    return sorted(folder.glob("*.yaml"))


def bundled_reforms() -> list[LoadedReform]:
    return [load_reform(p) for p in bundled_reform_paths()]
