"""`emit_json`, the JSON every command prints: the text Python's ``json.dumps(indent=2,
default=str)`` gives, from a faster encoder."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from aiexport.commands.common import emit_json


def test_emit_json_writes_the_text_of_json_dumps(capsys):
    records = [
        {
            "id": "T1",
            "item": "server: 8 × Google TPU v4 chip",  # non-ASCII, escaped as json.dumps does
            "date": dt.date(2025, 1, 15),
            "quantity": 2009,
            "total_tpp": 12345.25,
            "whole": 4800.0,
            "ok": True,
            "eccn": None,
            "rules": ["742.6(a)(6)(iii)", "740.2(a)(13)"],
            "needs_facts": [{"fact": "end_use", "question": "What is the \"end use\"?\n"}],
            "empty": [],
            "nested": {"a": {"b": []}},
            "amount": Decimal("1.50"),  # not JSON: its str, as default=str gives
        },
        {},
    ]
    emit_json(records)
    assert capsys.readouterr().out == json.dumps(records, indent=2, default=str) + "\n"


def test_a_float_in_exponent_form_has_the_same_value():
    import io
    import sys

    records = [{"distance": 1e-06, "big": 1e16, "small": -2.5e-7}]
    out, sys.stdout = sys.stdout, io.StringIO()
    try:
        emit_json(records)
        text = sys.stdout.getvalue()
    finally:
        sys.stdout = out
    assert json.loads(text) == records
