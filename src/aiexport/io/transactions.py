"""Transaction facts (Pydantic), read from YAML, JSON or CSV, with errors that name the file,
row and field."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from aiexport.errors import InputError
from aiexport.io.files import read_csv, read_document
from aiexport.io.names import known_facts, unknown_message

_EXTRA_CODES = {"XK"}  # Kosovo, used by BIS
# The most units one order line may carry: far above any real order (the largest clusters are
# a few hundred thousand accelerators), far below where total TPP leaves exact integers.
MAX_QUANTITY = 10_000_000
# The most TPP a stated LPP consumption may be (a micro-unit integer must hold it).
MAX_STATED_TPP = 10**12


DATE_EXPECTED = "a valid date YYYY-MM-DD"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _date(value: Any) -> dt.date:
    """A calendar date written YYYY-MM-DD (or a YAML date). Pydantic's lax reading would take
    "0" as 1970-01-01 and "2025-09-01T00:00:00" as a date; an order's date is never guessed."""
    import re

    if isinstance(value, dt.datetime):
        raise ValueError(DATE_EXPECTED)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(DATE_PATTERN, value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(DATE_EXPECTED)


def _yaml_norway(value: Any) -> Any:
    # YAML 1.1 reads an unquoted NO (Norway) as false; no other country code reads as a boolean.
    return "NO" if value is False else value


def _country(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError("an ISO 3166-1 alpha-2 country code, e.g. CN, SG, US")
    code = str(value).strip().upper()
    if len(code) != 2 or (pycountry.countries.get(alpha_2=code) is None and code not in _EXTRA_CODES):
        raise ValueError("an ISO 3166-1 alpha-2 country code, e.g. CN, SG, US")
    return code


def _name(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("a non-empty name (or leave the field out)")
    return value


def _id(value: str) -> str:
    if not value.strip():
        raise ValueError("a non-empty id")
    return value


def _quantity(value: int) -> int:
    if value > MAX_QUANTITY:
        raise ValueError(f"at most {MAX_QUANTITY:,} units in one order line (is {value:,} a value in dollars, or TPP?)")
    return value


Country = Annotated[Any, BeforeValidator(_yaml_norway), AfterValidator(_country)]
Name = Annotated[str | None, AfterValidator(_name)]


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = None
    country: Country
    headquarters: Country | None = None
    ultimate_parent_headquarters: Country | None = None
    ultimate_parent: Name = None  # the ultimate parent's name (screened against restricted-party lists)

    @property
    def hq(self) -> str:
        # Documented default: a party with no stated headquarters is headquartered where it is.
        return self.headquarters or self.country

    @property
    def parent_hq(self) -> str:
        # Documented default: a party with no stated parent is its own ultimate parent.
        return self.ultimate_parent_headquarters or self.hq


class Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: Annotated[str, AfterValidator(_id)]
    date: Annotated[dt.date, BeforeValidator(_date)]
    kind: Literal["export", "reexport", "transfer"] = "export"
    from_: Country = Field(alias="from")
    to: Country
    item: dict[str, Any]
    quantity: Annotated[int, AfterValidator(_quantity)] = Field(default=1, ge=1)
    consignee: Party
    end_user: Party | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    value_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)


PARTY_FIELDS = ("name", "country", "headquarters", "ultimate_parent_headquarters", "ultimate_parent")
TRANSACTION_FIELDS = ("id", "date", "kind", "from", "to", "item", "quantity", "consignee", "end_user", "facts", "value_usd")
# CSV columns whose blank cell is an error for that row (a blank is not a value: a blank
# quantity must not become 1 unit). Blank party details and facts mean "not stated".
REQUIRED_CELLS = ("id", "date", "kind", "from", "to", "quantity", "consignee_country")
BLANK_EXPECTED = "a value (this cell is required and blank)"
BLANK = "__blank__"


def known_columns() -> set[str]:
    """The flat CSV columns of a transaction file."""
    return {
        *(f for f in TRANSACTION_FIELDS if f not in ("consignee", "end_user")), "chip",
        *(f"{p}_{f}" for p in ("consignee", "end_user") for f in PARTY_FIELDS),
        *(f"fact_{f}" for f in known_facts()),
    }


def _from_flat(row: dict[str, str]) -> dict:
    """A CSV row: id,date,kind,from,to,chip|item,quantity,consignee_*,end_user_*,facts|fact_*."""
    out: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    blank = [k for k in REQUIRED_CELLS if k in row and (row[k] is None or str(row[k]).strip() == "")]
    if not any(row.get(k) not in (None, "") for k in ("chip", "item")) and ("chip" in row or "item" in row):
        blank.append("chip" if "chip" in row else "item")
    if blank:
        out[BLANK] = blank
    for key, value in row.items():
        if value is None or (isinstance(value, str) and not value.strip()):  # a blank cell (spaces too) states nothing
            continue
        if key == "chip":
            out["item"] = {"chip": value}
        elif key in ("item", "facts"):
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value  # reported by validation as not a mapping
        elif key.startswith("fact_"):
            facts[key[5:]] = value
        elif key.startswith("consignee_") or key.startswith("end_user_"):
            party, field = ("consignee", key[10:]) if key.startswith("consignee_") else ("end_user", key[9:])
            out.setdefault(party, {})[field] = value
        else:
            out[key] = value
    if facts:
        out["facts"] = {**out.get("facts", {}), **facts}
    return out


def load_rows(path: Path, *, allow_extra_columns: bool = False, ignored: list[str] | None = None) -> list[dict]:
    """Rows of a YAML, JSON or CSV transaction file. An unknown CSV column is an error naming the
    closest known one; with ``allow_extra_columns`` it is left out (and listed in ``ignored``)."""
    if path.suffix.lower() == ".csv":
        df = read_csv(path)
        known = known_columns()
        extra = [c for c in df.columns if c not in known]
        if extra and not allow_extra_columns:
            from aiexport.errors import InputErrors

            raise InputErrors([
                InputError(str(path), None, c, unknown_message("column", c, known)
                           + " (or --allow-extra-columns to leave it out)", c)
                for c in extra
            ])
        if extra:
            df = df.drop(extra)
            if ignored is not None:
                ignored.extend(extra)
        return [_from_flat(r) for r in df.iter_rows(named=True)]
    data = read_document(path)
    if isinstance(data, dict):
        data = data.get("transactions") or data.get("orders") or [data]
    if not isinstance(data, list):
        raise InputError(str(path), None, None, "a list of transactions", type(data).__name__)
    if not data:
        raise InputError(str(path), None, None, "at least one transaction", "an empty list")
    return data


MAX_SERVER_COUNT = 100_000


def _item_errors(item: dict, source: str, n: int) -> list[InputError]:
    """Counts of a server's parts within a plausible range (the rules check the rest)."""
    parts = item.get("server")
    if not isinstance(parts, list):
        return []
    out = []
    for j, part in enumerate(parts):
        count = part.get("count") if isinstance(part, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count > MAX_SERVER_COUNT:
            out.append(InputError(source, n, f"item.server[{j}].count",
                                  f"at most {MAX_SERVER_COUNT:,} of one part in one system", count))
    return out


def _fact_errors(facts: dict, source: str, n: int) -> list[InputError]:
    """Unknown fact names (with the closest known name) and numbers that are not numbers."""
    from aiexport.law.facts import is_yes_no, yes_no
    from aiexport.law.license import FACT_COLUMNS

    known = known_facts()
    out = []
    for name, value in facts.items():
        field = f"facts.{name}"
        if name not in known:
            out.append(InputError(source, n, field, unknown_message("fact", str(name), known), name))
            continue
        if is_yes_no(name):
            try:
                yes_no(value, ValueError)
            except ValueError as exc:
                out.append(InputError(source, n, field, str(exc), value))
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            try:
                d = Decimal(str(value).strip().replace("_", ""))
            except InvalidOperation:
                continue  # not a number: the rule that reads it says what it expects
            if not d.is_finite():
                out.append(InputError(source, n, field, "a finite number (not NaN or infinity)", value))
            elif name in FACT_COLUMNS and str(FACT_COLUMNS[name][1]) == "Int64" and abs(d) > MAX_STATED_TPP:
                out.append(InputError(source, n, field, f"at most {MAX_STATED_TPP:,} TPP", value))
    return out


def parse(rows: list[Any], source: str) -> tuple[list[Transaction], list[InputError], list[int]]:
    """Validate rows; returns (accepted, errors, row numbers of accepted). Rows count from 1."""
    accepted, errors, numbers = [], [], []
    seen: dict[str, int] = {}
    for n, raw in enumerate(rows, start=1):
        if not isinstance(raw, dict):
            errors.append(InputError(source, n, None, "a mapping (one transaction)", raw))
            continue
        if True in raw and "on" not in raw:  # YAML 1.1 reads a bare `on:` key as true
            raw = {("on" if k is True else k): v for k, v in raw.items()}
        blank = raw.get(BLANK) or []
        if blank:
            raw = {k: v for k, v in raw.items() if k != BLANK}
            for col in blank:
                errors.append(InputError(source, n, col, BLANK_EXPECTED, ""))
        try:
            t = Transaction.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"]) or None
                if field in blank or (field in ("item", "consignee") and {"chip", "item", "consignee_country"} & set(blank)):
                    continue  # already reported as a blank cell
                expected = e["msg"].removeprefix("Value error, ")
                got = e.get("input") if e["type"] != "missing" else None
                if e["type"] == "extra_forbidden":
                    *parent, last = [str(p) for p in e["loc"]]
                    known = PARTY_FIELDS if parent and parent[0] in ("consignee", "end_user") else TRANSACTION_FIELDS
                    expected, got = unknown_message("field", last, set(known)), last
                errors.append(InputError(source, n, field, expected, got))
            continue
        if blank:
            continue
        fact_errors = _fact_errors(t.facts, source, n) + _item_errors(t.item, source, n)
        if fact_errors:
            errors.extend(fact_errors)
            continue
        if t.id in seen:
            errors.append(InputError(source, n, "id", f"a unique id (also used in row {seen[t.id]})", t.id))
            continue
        seen[t.id] = n
        accepted.append(t)
        numbers.append(n)
    if source.lower().endswith(".csv"):  # one header line: row n is line n + 1
        for e in errors:
            if e.row is not None and e.line is None:
                e.line = e.row + 1
    return accepted, errors, numbers
