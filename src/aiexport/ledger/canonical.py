"""Canonical JSON: sorted keys, no spaces, exact decimals, ISO dates; the hashed form of records."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring  # what json.dumps(str, ensure_ascii=False) runs (in C)

from aiexport.ledger.amounts import fmt


def dumps(obj: object, indent: int | None = None) -> str:
    """Serialise to JSON with exact numbers (Decimal as a JSON number, never through float)."""
    return _enc(obj, indent, 0)


def _enc(obj: object, indent: int | None, depth: int) -> str:
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, Enum):
        return _enc(obj.value, indent, depth)
    if isinstance(obj, int):
        return str(int(obj))
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"not a finite number: {obj}")
        return fmt(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"not a finite number: {obj}")
        # Through its shortest repr, so dumps(loads(x)) == x (loads reads decimals as Decimal).
        return fmt(Decimal(repr(obj)))
    if isinstance(obj, str):
        return encode_basestring(obj)
    if isinstance(obj, dt.datetime):
        return json.dumps(obj.isoformat())
    if isinstance(obj, dt.date):
        return json.dumps(obj.isoformat())
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, str):
                raise ValueError(f"JSON object keys must be strings, got {k!r}")
        items = [
            (encode_basestring(k), _enc(obj[k], indent, depth + 1))
            for k in sorted(obj)
        ]
        if not items:
            return "{}"
        if indent is None:
            return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
        pad, inner = " " * (indent * depth), " " * (indent * (depth + 1))
        return "{\n" + ",\n".join(f"{inner}{k}: {v}" for k, v in items) + "\n" + pad + "}"
    if isinstance(obj, list | tuple):
        parts = [_enc(v, indent, depth + 1) for v in obj]
        if not parts:
            return "[]"
        if indent is None:
            return "[" + ",".join(parts) + "]"
        pad, inner = " " * (indent * depth), " " * (indent * (depth + 1))
        return "[\n" + ",\n".join(inner + p for p in parts) + "\n" + pad + "]"
    raise ValueError(f"cannot record a value of type {type(obj).__name__}: {obj!r}")


def loads(text: str) -> object:
    return json.loads(text, parse_float=Decimal)
