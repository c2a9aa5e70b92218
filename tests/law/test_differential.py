"""The columnar classifier agrees with an independent scalar Decimal oracle (bench/baseline.py)
on synthetic rows spread around every 3A090 line."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from baseline import classify_row  # noqa: E402
from synthetic import synthetic_specs  # noqa: E402

from aiexport.io.specs import normalise  # noqa: E402
from aiexport.law.classify import classify_frame  # noqa: E402


def test_engine_agrees_with_scalar_oracle():
    raw = synthetic_specs(20_000, seed=11)
    out = classify_frame(normalise(raw, "synthetic").frame, on=dt.date(2025, 6, 1), explain=False)
    seen = set()
    for spec, got in zip(raw.to_dicts(), out.select("eccn", "needs_facts").to_dicts(), strict=True):
        want = classify_row(spec)
        seen.add(want)
        if want == "?":
            assert got["needs_facts"], spec
        else:
            assert not got["needs_facts"] and got["eccn"] == want, spec
    assert seen == {"3A090.a", "3A090.b", None, "?"}  # the sample reaches every outcome
