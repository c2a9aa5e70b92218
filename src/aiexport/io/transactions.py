"""Transaction facts (Pydantic), read from YAML, JSON or CSV, with errors that name the file,
row and field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from aiexport.errors import InputError
from aiexport.io.files import read_document, require

_EXTRA_CODES = {"XK"}  # Kosovo, used by BIS


def _country(value: str) -> str:
    code = str(value).strip().upper()
    if len(code) != 2 or (pycountry.countries.get(alpha_2=code) is None and code not in _EXTRA_CODES):
        raise ValueError("an ISO 3166-1 alpha-2 country code, e.g. CN, SG, US")
    return code


Country = Annotated[str, AfterValidator(_country)]


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    country: Country
    headquarters: Country | None = None
    ultimate_parent_headquarters: Country | None = None

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

    id: str
    date: dt.date
    kind: Literal["export", "reexport", "transfer"] = "export"
    from_: Country = Field(alias="from")
    to: Country
    item: dict[str, Any]
    quantity: int = Field(default=1, ge=1)
    consignee: Party
    end_user: Party | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    value_usd: float | None = None


PARTY_FIELDS = ("name", "country", "headquarters", "ultimate_parent_headquarters")


def _from_flat(row: dict[str, str]) -> dict:
    """A CSV row: id,date,kind,from,to,chip|item,quantity,consignee_*,end_user_*,facts|fact_*."""
    out: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value == "":
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


def load_rows(path: Path) -> list[dict]:
    require(path)
    if path.suffix.lower() == ".csv":
        df = pl.read_csv(path, infer_schema=False)
        return [_from_flat(r) for r in df.iter_rows(named=True)]
    data = read_document(path)
    if isinstance(data, dict):
        data = data.get("transactions") or data.get("orders") or [data]
    if not isinstance(data, list):
        raise InputError(str(path), None, None, "a list of transactions", type(data).__name__)
    return data


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
        try:
            t = Transaction.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"]) or None
                expected = e["msg"].removeprefix("Value error, ")
                got = e.get("input") if e["type"] != "missing" else None
                errors.append(InputError(source, n, field, expected, got))
            continue
        if t.id in seen:
            errors.append(InputError(source, n, "id", f"a unique id (also used in row {seen[t.id]})", t.id))
            continue
        seen[t.id] = n
        accepted.append(t)
        numbers.append(n)
    return accepted, errors, numbers
