"""Validated end users (15 CFR 748.15): General VEU, Data Center VEU (2024) and its universal /
national forms (UVEU / NVEU, 2025).

A VEU authorization is stored like a licence: its id, kind, holder, eligible sites and items, and
validity. A shipment that states ``veu_authorization`` is authorized when the authorization is on
record and valid on the date, the destination is one of its sites (never Macau or D:5 for a Data
Center VEU), the item is eligible, the holder is the consignee or end user, and the transaction is
an export or reexport (or an in-country transfer to another site of the same Data Center VEU).
Under ``codified`` the UVEU geographic allocations and the NVEU installed base are checked against
balances the ledger supplies (facts ``veu_*_tpp``), as LPP is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aiexport.engine.params import Snapshot
from aiexport.errors import InputError
from aiexport.law.metrics import MICRO
from aiexport.law.reach.facts import FactError, _country
from aiexport.law.reach.rules import labels, starts_with_any

DATA_CENTER = ("data_center", "uveu", "nveu")
KIND_RULE = {
    "general": "748.15.general",
    "data_center": "748.15.data-center",
    "uveu": "748.15(a)(2)(ii).UVEU",
    "nveu": "748.15(a)(2)(iii).NVEU",
}
OBLIGATIONS = [
    "Obtain the validated end user's certification (Supp. No. 8 to Part 748) before the initial export or reexport and keep it (Part 762) — §748.15(e)",
    "Give the VEU written notice of the shipment with the VEU-authorized contents and their ECCNs — §748.15(g)",
    "Items may be used only at the VEU's authorized facility, not for any Part 744 activity; no in-country transfer or reexport except to another authorized site of the same VEU — §748.15(d)",
]
REPORTS = {
    "general": "Reexporters report annually by February 15 — §748.15(f)(1)(iii)",
    "data_center": "Semi-annual reports by July 15 (Jan–Jun) and January 15 (Jul–Dec), from reexporters and from the VEU (inventory, dates received) — §748.15(f)",
    "uveu": "Semi-annual reports by July 15 (Jan–Jun) and January 15 (Jul–Dec), from reexporters and from the VEU (inventory, dates received) — §748.15(f)",
    "nveu": "Semi-annual reports by July 15 (Jan–Jun) and January 15 (Jul–Dec), from reexporters and from the NVEU (inventory, dates received, current customers) — §748.15(f)",
}


class VeuSite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str
    address: str | None = None

    @field_validator("country")
    @classmethod
    def _alpha2(cls, v: str) -> str:
        try:
            return _country(v, "country")
        except FactError as e:
            raise ValueError(e.expected) from None


class VeuAuthorization(BaseModel):
    """One VEU authorization, as listed in Supp. No. 7 to Part 748 or granted by BIS."""

    model_config = ConfigDict(extra="forbid")
    id: str
    kind: Literal["general", "data_center", "uveu", "nveu"]
    holder: str
    headquarters: str | None = None
    sites: list[VeuSite] = Field(min_length=1)
    eccns: list[str] = Field(min_length=1)
    valid_from: dt.date
    valid_to: dt.date | None = None
    allocation_tpp: Decimal | None = Field(default=None, ge=0)  # NVEU installed base in its country
    conditions: list[str] = Field(default_factory=list)
    cite: str = "15 CFR 748.15; Supp. No. 7 to Part 748"

    @field_validator("headquarters")
    @classmethod
    def _hq(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return _country(v, "headquarters")
        except FactError as e:
            raise ValueError(e.expected) from None


def load_authorizations(path: Path) -> dict[str, VeuAuthorization]:
    """A YAML or JSON list of VEU authorizations; errors name the file, entry and field."""
    from aiexport.io.files import read_document, require

    require(path)
    doc = read_document(path)
    entries = doc.get("authorizations") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise InputError(str(path), None, None, "a list of VEU authorizations (or {authorizations: [...]})", type(doc).__name__)
    out: dict[str, VeuAuthorization] = {}
    for i, e in enumerate(entries, start=1):
        try:
            a = VeuAuthorization.model_validate(e)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise InputError(str(path), i, field, err["msg"], err.get("input")) from None
        if a.id in out:
            raise InputError(str(path), i, "id", "a unique authorization id", a.id)
        out[a.id] = a
    return out


def _per_auth(auths: dict[str, VeuAuthorization], build, dtype: pl.DataType = pl.Boolean) -> pl.Expr:
    """A when-chain over the stated authorization id; null for an id not on record."""
    vid = pl.col("rf_veu_id")
    expr = None
    for a in auths.values():
        cond, value = vid == a.id, build(a).cast(dtype)
        expr = pl.when(cond).then(value) if expr is None else expr.when(cond).then(value)
    return pl.lit(None, dtype) if expr is None else expr.otherwise(pl.lit(None, dtype))


def _norm(s: pl.Expr) -> pl.Expr:
    return s.str.strip_chars().str.to_lowercase()


def veu(frame: pl.LazyFrame, p: Snapshot, authorizations: dict[str, VeuAuthorization] | None) -> pl.LazyFrame:
    auths = authorizations or {}
    to, date, kind = pl.col("to"), pl.col("date"), pl.col("kind")
    stated = pl.col("rf_veu_id").is_not_null()
    d5mo = sorted(p.group("D:5") | {"MO"})
    T1 = sorted(p.group("Tier1"))
    exists = {
        "general": True,
        "data_center": p.in_force("reach_data_center_veu"),
        "uveu": p.in_force("reach_uveu_nveu"),
        "nveu": p.in_force("reach_uveu_nveu"),
    }

    def site_ok(a: VeuAuthorization) -> pl.Expr:
        countries = sorted({s.country for s in a.sites})
        addresses = sorted({s.address.strip().lower() for s in a.sites if s.address})
        ok = to.is_in(countries)
        if addresses:
            site = pl.col("rf_veu_site")
            ok = ok & pl.when(site.is_null()).then(pl.lit(None, pl.Boolean)).otherwise(_norm(site).is_in(addresses))
        return ok

    def holder_ok(a: VeuAuthorization) -> pl.Expr:
        h = a.holder.strip().lower()
        return (_norm(pl.col("c_name")) == h) | (_norm(pl.col("e_name")) == h)

    def item_ok(a: VeuAuthorization) -> pl.Expr:
        eccn = pl.coalesce(pl.col("eccn"), pl.col("rf_eccn_below"))
        return starts_with_any(eccn, [e.strip().upper() for e in a.eccns])

    ship = pl.col("system_tpp").cast(pl.Int128) * pl.col("quantity").cast(pl.Int128)
    total = pl.col("rf_veu_total").cast(pl.Int128) + ship
    country = pl.col("rf_veu_country").cast(pl.Int128) + ship
    outside = pl.col("rf_veu_outside_t1").cast(pl.Int128) + ship
    us_after = pl.col("rf_veu_us").cast(pl.Int128) + pl.when(to == "US").then(ship).otherwise(pl.lit(0, pl.Int128))
    codified_uveu = p.value("reach_uveu_outside_tier1_max_percent")
    codified_nveu = p.in_force("reach_nveu_installed_base")

    def limits_ok(a: VeuAuthorization) -> pl.Expr:
        if a.kind == "nveu" and codified_nveu:
            if a.allocation_tpp is None:
                return pl.lit(None, pl.Boolean)
            return country <= pl.lit(int(a.allocation_tpp * MICRO), pl.Int128)
        if a.kind == "uveu" and codified_uveu is not None:
            per_country = p.value("reach_uveu_tier2_country_max_percent")
            us_min = p.value("reach_uveu_us_hq_min_us_percent")
            t1 = to.is_in(T1)
            ok_out = t1 | (outside * 100 <= total * codified_uveu)
            ok_country = t1 | (country * 100 <= total * per_country)
            ok_us = pl.lit(True) if a.headquarters != "US" else (us_after * 100 >= total * us_min)
            return ok_out & ok_country & ok_us
        return pl.lit(True)

    checks = {
        "found": _per_auth(auths, lambda a: pl.lit(True)).fill_null(False),
        "exists": _per_auth(auths, lambda a: pl.lit(exists[a.kind])),
        "dated": _per_auth(auths, lambda a: (date >= pl.lit(a.valid_from)) & (date <= pl.lit(a.valid_to or dt.date.max))),
        "dest": _per_auth(auths, lambda a: ~to.is_in(d5mo) if a.kind in DATA_CENTER else pl.lit(True)),
        "site": _per_auth(auths, site_ok),
        "item": _per_auth(auths, item_ok),
        "transfer": _per_auth(auths, lambda a: (kind != "transfer") | pl.lit(a.kind in DATA_CENTER)),
        "holder": _per_auth(auths, holder_ok),
        "limits": _per_auth(auths, limits_ok),
    }
    frame = frame.with_columns(**{f"__veu_{k}": v for k, v in checks.items()})
    C = {k: pl.col(f"__veu_{k}") for k in checks}
    basic = C["found"] & C["exists"] & C["dated"] & C["dest"] & C["site"] & C["item"] & C["transfer"] & C["holder"]
    ok = pl.when(~stated).then(pl.lit(False)).otherwise(basic & C["limits"])
    vkind = _per_auth(auths, lambda a: pl.lit(a.kind), pl.String)
    frame = frame.with_columns(ok.alias("748.15"), vkind.alias("veu_kind"))
    OK = pl.col("748.15")
    failing = labels([
        ("748.15.unknown-authorization", ~C["found"]),
        ("748.15.not-in-force", C["found"] & ~C["exists"]),
        ("748.15.not-valid-on-date", C["found"] & ~C["dated"]),
        ("748.15(b)(2).D5-Macau", C["found"] & ~C["dest"]),
        ("748.15(b)(2).site", C["found"] & ~C["site"]),
        ("748.15(c).item", C["found"] & ~C["item"]),
        ("748.15(d)(2)(iii).transfer", C["found"] & ~C["transfer"]),
        ("748.15.holder", C["found"] & ~C["holder"]),
        ("748.15(a)(2)(ii)(B).allocation", C["found"] & (pl.col("veu_kind") == "uveu") & ~C["limits"]),
        ("748.15(a)(2)(iii)(B).allocation", C["found"] & (pl.col("veu_kind") == "nveu") & ~C["limits"]),
    ])
    kind_rule = pl.col("veu_kind").replace_strict(KIND_RULE, default=None, return_dtype=pl.String)
    rules = (
        pl.when(~stated).then(pl.lit([], dtype=pl.List(pl.String)))
        .when(OK).then(pl.concat_list([pl.lit(["748.15"]), pl.concat_list([kind_rule])]))
        .otherwise(failing)
    )
    open_ = stated & OK.is_null()
    limits_open = open_ & basic.fill_null(True) & C["limits"].is_null()
    uveu = pl.col("veu_kind") == "uveu"
    needs = labels([
        ("veu_site", open_ & C["site"].is_null() & pl.col("rf_veu_site").is_null()),
        ("consignee.name", open_ & C["holder"].is_null()),
        ("eccn_below_3a090", open_ & C["item"].is_null() & pl.col("eccn").is_null() & pl.col("rf_eccn_below").is_null()),
        ("veu_total_tpp", limits_open & uveu & pl.col("rf_veu_total").is_null()),
        ("veu_country_tpp", limits_open & pl.col("rf_veu_country").is_null()),
        ("veu_outside_tier1_tpp", limits_open & uveu & pl.col("rf_veu_outside_t1").is_null()),
        ("veu_us_tpp", limits_open & uveu & pl.col("rf_veu_us").is_null()),
    ])
    conditions = _per_auth(auths, lambda a: pl.lit([*OBLIGATIONS, REPORTS[a.kind], *a.conditions], dtype=pl.List(pl.String)), pl.List(pl.String))
    obligations = pl.when(OK.fill_null(False)).then(conditions).otherwise(pl.lit([], dtype=pl.List(pl.String)))
    exceeded = stated & C["found"] & basic.fill_null(True) & ~C["limits"]
    return frame.with_columns(
        rules.alias("veu_rules"), needs.alias("veu_needs"), obligations.alias("veu_obligations"),
        exceeded.fill_null(False).alias("veu_exceeded"),
    ).drop([f"__veu_{k}" for k in checks])
