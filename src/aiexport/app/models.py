"""Validated inputs of the use cases (Pydantic). The faces build these; the use cases trust them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Posture = Literal["enforced", "codified"]

EXAMPLE_ORDER = {"id": "ORD-1", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"},
                 "quantity": 8, "consignee": {"name": "Example Ltd", "country": "IN"}}


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"transactions": [EXAMPLE_ORDER]}]})

    transactions: list[dict[str, Any]] = Field(..., min_length=1, max_length=10_000,
                                               description="Transactions in the YAML/JSON form of `aiexport check`.")
    on: dt.date | None = Field(None, description="Decide every transaction as of this date instead of its own.")
    posture: Posture = "enforced"
    notices: list[str] = Field(default_factory=list, description="Bundled notices to enable, by id.")


class RecordRequest(CheckRequest):
    pass


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"transaction": EXAMPLE_ORDER}]})

    transaction: dict[str, Any]
    on: dt.date | None = None
    posture: Posture = "enforced"
    notices: list[str] = Field(default_factory=list)


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"chips": ["H100 SXM"], "on": "2025-06-02"}]})

    chips: list[str] = Field(default_factory=list, max_length=1000, description="Catalog chip names.")
    specs: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000,
                                        description="Spec rows with the columns of accelerators.csv.")
    on: dt.date | None = None
    posture: Posture = "enforced"
    tf32_bits: Literal[19, 32] = 19


class HoldAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(..., min_length=1, max_length=40, description="e.g. LICENSE_GRANTED (release) or LICENSE_DENIED (reject).")
    reason: str = Field(..., min_length=1, max_length=2000)


class DispositionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party: str = Field(..., min_length=1, max_length=500)
    country: str | None = Field(None, min_length=2, max_length=2)
    entry: str = Field(..., min_length=1, max_length=200)
    status: Literal["false_positive", "confirmed"]
    reason: str = Field(..., min_length=1, max_length=2000)


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parties: list[dict[str, str | None]] = Field(..., min_length=1, max_length=10_000,
                                                 description="[{name, country}]")
    threshold: float = Field(0.80, ge=0.0, le=1.0)


class UserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["viewer", "analyst", "officer", "admin"]
    password: str | None = Field(None, min_length=8, max_length=200)


class AdjustRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: str = Field(..., pattern=r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$", description="Signed decimal, e.g. '-100'.")
    reason: str = Field(..., min_length=1, max_length=2000)


class VeuLoadRequest(BaseModel):
    """VEU authorizations to put on record (the terms of ``law.reach.veu.VeuAuthorization``)."""

    model_config = ConfigDict(extra="forbid")
    authorizations: list[dict[str, Any]] = Field(..., min_length=1, max_length=1000)


class VeuRevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: dt.date = Field(..., description="The first day the authorization no longer authorizes.")
    reason: str = Field(..., min_length=1, max_length=2000)
