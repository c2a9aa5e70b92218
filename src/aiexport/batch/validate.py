"""Validation of order-book rows as Polars expressions: no per-row Python, no Pydantic.

Input is a frame of strings (the flat columns of `aiexport check`) with a 1-based ``row``
column. Output is the typed frame of the rows that passed and a rejects frame naming each bad
row's field, what was expected and what it got. The checks mirror `aiexport.io.transactions`
(the Pydantic model `check` uses): the same fields, defaults and messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl
import pycountry

from aiexport.io.transactions import (
    _EXTRA_CODES,
    BLANK_EXPECTED,
    DATE_EXPECTED,
    DATE_PATTERN,
    MAX_QUANTITY,
    PARTY_FIELDS,
)
from aiexport.law.facts import NO, YES
from aiexport.law.facts import default as fact_default
from aiexport.law.license import FACT_COLUMNS, fact_value
from aiexport.law.overlays import GP10_FACTS

COUNTRY_EXPECTED = "an ISO 3166-1 alpha-2 country code, e.g. CN, SG, US"
KINDS = ("export", "reexport", "transfer")
BASE_COLUMNS = ("id", "date", "kind", "from", "to", "chip", "item", "quantity", "facts", "value_usd")
PARTY_COLUMNS = tuple(f"{p}_{f}" for p in ("consignee", "end_user") for f in PARTY_FIELDS)
# Facts the overlay pass (GP10) reads from the rows it visits; any other fact outside
# FACT_COLUMNS (foundry role, model facts, a datacenter override) sends its row to the
# per-row path of `check` (see aiexport.batch.core).
OVERLAY_FACTS = GP10_FACTS
REJECT_SCHEMA = {"row": pl.Int64, "id": pl.String, "field": pl.String, "expected": pl.String, "got": pl.String}


@cache
def countries() -> list[str]:
    return sorted({c.alpha_2 for c in pycountry.countries} | set(_EXTRA_CODES))


@cache
def known_facts() -> tuple[str, ...]:
    """Every fact `check` knows (io.names.known_facts: the licence, foundry, model and legal-reach
    facts), the licence rules' columns first. A fact outside FACT_COLUMNS and OVERLAY_FACTS sends
    its row to check's per-row path, so no stated fact is dropped."""
    from aiexport.io.names import known_facts as check_facts

    return tuple(dict.fromkeys([*FACT_COLUMNS, *OVERLAY_FACTS, *sorted(check_facts())]))


def known_columns() -> set[str]:
    return {*BASE_COLUMNS, *PARTY_COLUMNS, *(f"fact_{f}" for f in known_facts())}


def unknown_columns(columns: list[str]) -> list[str]:
    known = known_columns()
    return [c for c in columns if c not in known and c != "row"]


def _thousands(n: pl.Expr) -> pl.Expr:
    """An integer with thousands separators, as Python's ``f"{n:,}"``."""
    digits = n.cast(pl.String)
    return digits.str.reverse().str.replace_all(r"(\d{3})", "$1,").str.reverse().str.strip_prefix(",")


@dataclass
class Check:
    field: str
    bad: pl.Expr
    expected: str
    got: pl.Expr
    expected_expr: pl.Expr | None = None


def normalise(raw: pl.DataFrame) -> pl.DataFrame:
    """Every cell stripped, blank as null (the CSV reader of `check` skips blank cells), once."""
    return raw.with_columns(pl.col(c).str.strip_chars().replace("", None) for c, t in raw.schema.items() if t == pl.String)


def _s(c: str) -> pl.Expr:
    """A normalised cell (see `normalise`)."""
    return pl.col(c)


def _country(c: str) -> pl.Expr:
    return _s(c).str.to_uppercase()


def fact_map(raw: pl.Series, name: str) -> tuple[pl.Series, pl.Series]:
    """Each distinct stated value of fact ``name`` coerced by `fact_value` (the function `check`
    uses, so the values and messages cannot drift): (typed value per row, error per row)."""
    col, dtype = FACT_COLUMNS[name]
    return _typed(raw, col, dtype, lambda v: fact_value(name, v), str)


def _typed(raw: pl.Series, col: str, dtype: pl.DataType, coerce, message) -> tuple[pl.Series, pl.Series]:
    """Each distinct value of RAW coerced once (None: the default): (typed column COL with the
    default where blank, the error per row where ``coerce`` raised ValueError, as ``message(exc)``)."""
    uniq = raw.drop_nulls().unique()
    values, errors = [], []
    for v in uniq.to_list():
        try:
            values.append(coerce(v))
            errors.append(None)
        except ValueError as exc:
            values.append(None)
            errors.append(message(exc))
    default = coerce(None)
    typed = raw.replace_strict(uniq, pl.Series(values, dtype=dtype), default=None, return_dtype=dtype)
    typed = pl.select(pl.when(raw.is_null()).then(pl.lit(default, dtype=dtype)).otherwise(typed)).to_series()
    err = raw.replace_strict(uniq, pl.Series(errors, dtype=pl.String), default=None, return_dtype=pl.String)
    return typed.alias(col), err


@cache
def fast_reach_facts() -> dict[str, tuple[str, pl.DataType]]:
    """The legal-reach facts batch reads as columns (one value per cell: a country, yes/no, a
    percentage, an end use, a region, an ECCN): fact name -> (rf_* column, dtype). The others
    (owners, footnotes, VEU) send their rows to check's per-row path."""
    from aiexport.law.reach.facts import COLUMNS, registry

    scalar = ("country", "boolean", "percent", "end_use", "region", "eccn")
    return {n: COLUMNS[n] for n, spec in registry().items() if spec["type"] in scalar and n in COLUMNS}


def reach_fact_map(raw: pl.Series, name: str) -> tuple[pl.Series, pl.Series]:
    """Each distinct stated value of reach fact ``name`` coerced by the function `check` uses
    (``law.reach.facts.coerce``): (typed value per row, null when not stated; error per row)."""
    from aiexport.law.reach.facts import coerce

    col, dtype = fast_reach_facts()[name]
    return _typed(raw, col, dtype, lambda v: coerce(name, v), lambda exc: exc.expected)  # FactError is a ValueError


def checks(columns: list[str]) -> list[Check]:
    has = set(columns).__contains__
    out: list[Check] = []

    def required(c: str, field: str, expected: str) -> None:
        if has(c):  # a blank cell is not a value (check's REQUIRED_CELLS): a blank quantity is not 1 unit
            out.append(Check(c, _s(c).is_null(), BLANK_EXPECTED, pl.lit("", pl.String)))
        else:
            out.append(Check(field, pl.lit(True), expected + " (the column is missing)", pl.lit(None, pl.String)))

    for c in ("kind", "quantity"):  # of REQUIRED_CELLS: present and blank -> refused; absent -> check's default
        if has(c):
            required(c, c, "")
    required("id", "id", "a value (Field required)")
    required("date", "date", "a date YYYY-MM-DD")
    if has("date"):
        bad_date = ~_s("date").str.contains(DATE_PATTERN) | _s("date").str.to_date("%Y-%m-%d", strict=False).is_null()
        out.append(Check("date", _s("date").is_not_null() & bad_date, DATE_EXPECTED, pl.col("date")))
    if has("kind"):
        out.append(Check("kind", _s("kind").is_not_null() & ~pl.col("kind").is_in(KINDS),
                         "'export', 'reexport' or 'transfer'", pl.col("kind")))
    for c in ("from", "to"):
        required(c, c, COUNTRY_EXPECTED)
        if has(c):
            out.append(Check(c, _s(c).is_not_null() & ~_country(c).is_in(countries()), COUNTRY_EXPECTED, pl.col(c)))
    if has("quantity"):
        q = _s("quantity")
        n = q.cast(pl.Int64, strict=False)
        out.append(Check("quantity", q.is_not_null() & n.is_null(), "a valid integer", pl.col("quantity")))
        out.append(Check("quantity", n < 1, "an integer greater than or equal to 1", pl.col("quantity")))
        # check's limit (io.transactions.MAX_QUANTITY), with its message
        too_many = pl.format("at most {} units in one order line (is {} a value in dollars, or TPP?)",
                             pl.lit(f"{MAX_QUANTITY:,}"), _thousands(n))
        out.append(Check("quantity", n > MAX_QUANTITY, "", pl.col("quantity"), too_many))
    if not has("chip") and not has("item"):
        out.append(Check("item", pl.lit(True), "a chip (chip column) or an item (item column)", pl.lit(None, pl.String)))
    else:
        blank = pl.all_horizontal([_s(c).is_null() for c in ("chip", "item") if has(c)])
        out.append(Check("item", blank, "a chip (chip column) or an item (item column)", pl.lit(None, pl.String)))
    required("consignee_country", "consignee.country", COUNTRY_EXPECTED)
    for party in ("consignee", "end_user"):
        for f in ("country", "headquarters", "ultimate_parent_headquarters"):
            c = f"{party}_{f}"
            if has(c):
                out.append(Check(f"{party}.{f}", _s(c).is_not_null() & ~_country(c).is_in(countries()), COUNTRY_EXPECTED, pl.col(c)))
    eu = [c for c in columns if c.startswith("end_user_")]
    if eu:
        stated = pl.any_horizontal([_s(c).is_not_null() for c in eu])
        country = _s("end_user_country").is_null() if has("end_user_country") else pl.lit(True)
        out.append(Check("end_user.country", stated & country, "a value (Field required)", pl.lit(None, pl.String)))
    if has("value_usd"):
        v = _s("value_usd")
        out.append(Check("value_usd", v.is_not_null() & v.cast(pl.Float64, strict=False).is_null(), "a valid number", pl.col("value_usd")))
    return out


def typed(columns: list[str], on=None) -> list[pl.Expr]:
    """The prepared columns of `aiexport.law.decide.prepare`, as expressions."""
    has = set(columns).__contains__

    def opt(c: str, fn=_s) -> pl.Expr:
        return fn(c) if has(c) else pl.lit(None, pl.String)

    def cc(e: pl.Expr) -> pl.Expr:  # Hong Kong is treated as China under the EAR
        return e.replace("HK", "CN")

    c_country = _country("consignee_country")
    c_hq = pl.coalesce(opt("consignee_headquarters", _country), c_country)
    c_phq = pl.coalesce(opt("consignee_ultimate_parent_headquarters", _country), c_hq)
    has_eu = _s("end_user_country").is_not_null() if has("end_user_country") else pl.lit(False)
    e_country = pl.when(has_eu).then(opt("end_user_country", _country)).otherwise(c_country)
    e_hq_own = pl.coalesce(opt("end_user_headquarters", _country), e_country)
    e_hq = pl.when(has_eu).then(e_hq_own).otherwise(c_hq)
    e_phq = pl.when(has_eu).then(pl.coalesce(opt("end_user_ultimate_parent_headquarters", _country), e_hq_own)).otherwise(c_phq)
    e_name = pl.when(has_eu).then(opt("end_user_name", pl.col)).otherwise(opt("consignee_name", pl.col))
    date = pl.lit(on, pl.Date) if on is not None else _s("date").str.to_date("%Y-%m-%d", strict=False)
    exprs = [
        pl.col("row"),
        _s("id").alias("id"),
        date.alias("date"),
        opt("kind").fill_null("export").alias("kind"),
        cc(_country("from")).alias("from"),
        cc(_country("to")).alias("to"),
        _country("to").alias("to_stated"),
        (_s("quantity").cast(pl.Int64, strict=False).fill_null(1) if has("quantity") else pl.lit(1, pl.Int64)).alias("quantity"),
        opt("consignee_name", pl.col).alias("c_name"),
        cc(c_country).alias("c_country"), cc(c_hq).alias("c_hq"), cc(c_phq).alias("c_phq"),
        e_name.alias("e_name"),
        cc(e_country).alias("e_country"), cc(e_hq).alias("e_hq"), cc(e_phq).alias("e_phq"),
    ]
    return exprs


def validate(raw: pl.DataFrame, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass, rejects). ``raw`` has the string columns and a ``row`` column."""
    raw = normalise(raw)
    cs = checks(raw.columns)
    facts = []
    # the licence facts (always present, defaulted) and the scalar legal-reach facts (issue 10;
    # present only when stated), each typed by the function check uses
    typed_facts = [(n, fact_map) for n in FACT_COLUMNS] + [(n, reach_fact_map) for n in fast_reach_facts()]
    for name, coerce_map in typed_facts:
        c = f"fact_{name}"
        if c in raw.columns:
            value, err = coerce_map(raw[c], name)
            facts.append(value)
            raw = raw.with_columns(err.alias(f"__err_{name}"))
            cs.append(Check(f"facts.{name}", pl.col(f"__err_{name}").is_not_null(), "", pl.col(c)))
            cs[-1].expected_expr = pl.col(f"__err_{name}")
        elif name in FACT_COLUMNS:
            facts.append(pl.repeat(fact_value(name, None), raw.height, dtype=FACT_COLUMNS[name][1], eager=True).alias(FACT_COLUMNS[name][0]))
    for name in OVERLAY_FACTS:  # read by the GP10 overlay on the rows it visits: refuse what it cannot read
        c = f"fact_{name}"
        if c in raw.columns:
            readable = pl.col(c).is_null() | pl.col(c).str.strip_chars().str.to_lowercase().is_in(sorted(YES | NO))
            cs.append(Check(f"facts.{name}", ~readable, "yes or no", pl.col(c)))
    defaults = [n for n in FACT_COLUMNS if fact_default(n) is not None]
    defaulted = pl.concat_list([
        (pl.when(pl.col(f"fact_{n}").is_null()).then(pl.lit(n))
         if f"fact_{n}" in raw.columns else pl.lit(n)) for n in defaults
    ]).list.drop_nulls() if defaults else pl.lit([], dtype=pl.List(pl.String))
    raw = raw.with_columns(*facts, defaulted.alias("defaulted_facts"))
    flags = raw.with_columns([c.bad.fill_null(False).alias(f"__bad{i}") for i, c in enumerate(cs)])
    any_bad = pl.any_horizontal([pl.col(f"__bad{i}") for i in range(len(cs))])
    bad = flags.filter(any_bad)
    good = flags.filter(~any_bad).drop([f"__bad{i}" for i in range(len(cs))])
    good = good.drop([c for c in good.columns if c.startswith("__err_")])
    if bad.height == 0:
        return good, pl.DataFrame(schema=REJECT_SCHEMA)
    idc = pl.col("id") if "id" in raw.columns else pl.lit(None, pl.String)
    parts = [
        bad.filter(pl.col(f"__bad{i}")).select(
            pl.col("row").cast(pl.Int64), idc.alias("id"), pl.lit(c.field).alias("field"),
            (c.expected_expr if c.expected_expr is not None else pl.lit(c.expected)).alias("expected"),
            c.got.cast(pl.String).alias("got"),
        )
        for i, c in enumerate(cs)
    ]
    rejects = pl.concat(parts).sort("row", maintain_order=True)
    return good, rejects
