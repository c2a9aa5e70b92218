"""The facts the legal-reach rules read: registry (question + documented default), coercion of a
stated value, and the fact columns of a transaction frame (errors name the row and the field)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pycountry
import yaml

from aiexport.errors import InputError
from aiexport.law.metrics import MICRO

END_USES = (
    "none", "supercomputer", "advanced_node_ic_production", "sme_development_production",
    "military", "military_intelligence", "ai_model_training",
)
REGIONS = ("crimea", "dnr", "lnr", "other")
OWNER = pl.Struct({"name": pl.String, "share": pl.Int64, "listed": pl.Boolean})

# fact name -> frame column and dtype
COLUMNS: dict[str, tuple[str, pl.DataType]] = {
    "made_in": ("rf_made_in", pl.String),
    "us_controlled_content_share": ("rf_us_share", pl.Int64),  # micro-percent
    "us_content_without_de_minimis": ("rf_no_de_minimis", pl.Boolean),
    "direct_product_of_us_technology": ("rf_direct_product", pl.Boolean),
    "made_by_us_tool_plant": ("rf_tool_plant", pl.Boolean),
    "entity_list_footnotes": ("rf_footnotes", pl.List(pl.Int64)),
    "end_use": ("rf_end_use", pl.String),
    "eccn_below_3a090": ("rf_eccn_below", pl.String),
    "ai_training_for_headquarters": ("rf_ai_training_hq", pl.String),
    "destination_region": ("rf_region", pl.String),
    "owners": ("rf_owners", pl.List(OWNER)),
    "veu_authorization": ("rf_veu_id", pl.String),
    "veu_site": ("rf_veu_site", pl.String),
    "veu_total_tpp": ("rf_veu_total", pl.Int64),  # micro-TPP
    "veu_country_tpp": ("rf_veu_country", pl.Int64),
    "veu_outside_tier1_tpp": ("rf_veu_outside_t1", pl.Int64),
    "veu_us_tpp": ("rf_veu_us", pl.Int64),
}
VEU_BALANCES = ("veu_total_tpp", "veu_country_tpp", "veu_outside_tier1_tpp", "veu_us_tpp")

# Ledger callback: balances of a VEU authorization before this shipment, keyed by the fact names
# of VEU_BALANCES (TPP); a stated fact takes precedence (the same pattern as lpp_consumed_tpp).
VeuLookup = Callable[[Any, str], "dict[str, int | float | None]"]


class FactError(ValueError):
    def __init__(self, field: str, expected: str, got: object):
        super().__init__(expected)
        self.field, self.expected, self.got = field, expected, got


@cache
def registry() -> dict[str, dict]:
    path = Path(str(resources.files("aiexport.law.reach") / "facts.yaml"))
    return yaml.safe_load(path.read_text(encoding="utf-8"))["facts"]


def question(fact: str) -> str:
    return registry().get(fact, {}).get("question", fact)


def default(fact: str):
    return registry()[fact].get("default")


def _country(v: object, field: str) -> str:
    code = str(v).strip().upper()
    if len(code) != 2 or (pycountry.countries.get(alpha_2=code) is None and code != "XK"):
        raise FactError(field, "an ISO 3166-1 alpha-2 country code, e.g. TW, MY, US", v)
    return "CN" if code == "HK" else code  # Hong Kong is treated as China under the EAR


def _boolean(v: object, field: str) -> bool:
    from aiexport.law.facts import yes_no

    return yes_no(v, lambda expected: FactError(field, expected, v))


def _micro(v: object, field: str, what: str, *, at_most: int | None = None) -> int:
    if isinstance(v, bool):
        raise FactError(field, what, v)
    try:
        d = Decimal(str(v).strip().rstrip("%").strip())
    except InvalidOperation:
        raise FactError(field, what, v) from None
    if not d.is_finite() or d < 0 or (at_most is not None and d > at_most):
        raise FactError(field, what, v)
    scaled = d * MICRO
    if scaled != scaled.to_integral_value():
        raise FactError(field, f"{what} with at most six decimals", v)
    return int(scaled)


def coerce(name: str, raw: object) -> object:
    """A stated fact (or its documented default when not stated) as its column value."""
    spec = registry()[name]
    value = raw if raw is not None else spec.get("default")
    if value is None:
        return None
    kind = spec["type"]
    if kind == "country":
        return _country(value, name)
    if kind == "boolean":
        return _boolean(value, name)
    if kind == "percent":
        return _micro(value, name, "a percentage between 0 and 100", at_most=100)
    if kind == "tpp":
        return _micro(value, name, "a non-negative number of TPP")
    if kind == "footnotes":
        items = value if isinstance(value, list) else [value]
        out = []
        for x in items:
            if str(x).strip() not in ("1", "3", "4", "5"):
                raise FactError(name, "a list of Entity List footnote numbers among 1, 3, 4, 5", value)
            out.append(int(str(x).strip()))
        return sorted(set(out))
    if kind == "end_use":
        s = str(value).strip().lower()
        if s not in END_USES:
            raise FactError(name, "one of " + ", ".join(END_USES), value)
        return s
    if kind == "region":
        s = str(value).strip().lower()
        if s not in REGIONS:
            raise FactError(name, "one of " + ", ".join(REGIONS), value)
        return s
    if kind == "eccn":
        s = str(value).strip().upper()
        if not s or (s != "EAR99" and not (len(s) >= 5 and s[0].isdigit() and s[1].isalpha() and s[2:5].isdigit())):
            raise FactError(name, "an ECCN such as 3A991.p or 4A994.l, or EAR99", value)
        return s
    if kind == "owners":
        if not isinstance(value, list):
            raise FactError(name, "a list of {name, share, listed}", value)
        out = []
        for i, o in enumerate(value):
            where = f"{name}[{i}]"
            if not isinstance(o, dict) or "share" not in o:
                raise FactError(where, "{name, share (%), listed (yes/no)}", o)
            listed = o.get("listed")
            out.append({
                "name": None if o.get("name") is None else str(o["name"]),
                "share": _micro(o["share"], f"{where}.share", "a percentage between 0 and 100", at_most=100),
                "listed": None if listed is None else _boolean(listed, f"{where}.listed"),
            })
        return out
    return str(value).strip()


def fact_frame(transactions: list, *, source: str = "transactions", rows: list[int] | None = None,
               veu_lookup: VeuLookup | None = None) -> pl.DataFrame:
    """The rf_* fact columns, one row per transaction, in order (join horizontally onto the
    frame of ``aiexport.law.decide.prepare``)."""
    cols: dict[str, list] = {col: [] for col, _ in COLUMNS.values()}
    for n, t in enumerate(transactions):
        facts = dict(t.facts)
        if veu_lookup is not None and facts.get("veu_authorization") and any(facts.get(b) is None for b in VEU_BALANCES):
            balances = veu_lookup(t, str(facts["veu_authorization"])) or {}
            for b in VEU_BALANCES:
                if facts.get(b) is None and balances.get(b) is not None:
                    facts[b] = balances[b]
        for name, (col, _) in COLUMNS.items():
            try:
                cols[col].append(coerce(name, facts.get(name)))
            except FactError as e:
                row = rows[n] if rows else n + 1
                raise InputError(source, row, f"facts.{e.field}", e.expected, e.got) from None
    return pl.DataFrame(cols, schema={col: dtype for col, dtype in COLUMNS.values()})
