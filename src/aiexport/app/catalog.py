"""Chip classification records (the JSON contract of `aiexport classify`), moved out of
`commands/chips.py` (issue 12): the CLI, the API and the web all build them here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from aiexport.law.classify import QUESTIONS
from aiexport.law.metrics import H100_SXM_TPP, MICRO, from_micro


def _num(micro: int | None) -> int | float | None:
    d = from_micro(micro)
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def _pd(tpp: int | None, area: int | None) -> float | None:
    if tpp is None or not area:
        return None
    return float(round(Decimal(tpp) / Decimal(area), 4))


def records(frame: pl.DataFrame) -> list[dict]:
    """The JSON contract of `aiexport classify` (one object per item)."""
    out = []
    cols = ["name", "tpp", "tpp_basis", "applicable_die_area", "eccn", "paragraph",
            "nac_aca_eligible", "hbm_exception_eligible", "needs_facts", "rules", "reasons",
            "rule_set", "on", "device_type", "datacenter"]
    for r in frame.select(cols).iter_rows(named=True):
        tpp = r["tpp"]
        out.append(
            {
                "name": r["name"],
                "on": r["on"].isoformat(),
                "total_processing_performance": _num(tpp),
                "tpp_basis": r["tpp_basis"],
                "performance_density": _pd(tpp, r["applicable_die_area"]),
                "applicable_die_area_mm2": _num(r["applicable_die_area"]),
                "h100_equivalents": None if tpp is None else round(tpp / MICRO / H100_SXM_TPP, 4),
                "marketed_for_datacenter": r["datacenter"],
                "eccn": r["eccn"],
                "paragraph": r["paragraph"],
                "nac_aca_eligible": r["nac_aca_eligible"],
                "hbm_exception_eligible": r["hbm_exception_eligible"],
                "needs_facts": [{"fact": f, "question": QUESTIONS.get(f, f)} for f in r["needs_facts"]],
                "rule_set": r["rule_set"],
                "rules": r["rules"],
                "reasons": r["reasons"],
            }
        )
    return out


CATALOG_ONLY = ("vendor", "model", "variant", "release_year", "source", "notes")


def classify_chips(chips: list[str], specs: Path | None, on: dt.date, posture: str, tf32_bits: int) -> pl.DataFrame:
    """3A090 classification of catalog chips and/or the spec rows of a file (the whole catalog
    when neither is given). A chip not in the catalog raises `CatalogLookupError`; bad spec rows
    raise `RejectedRows` naming file, row and column; each face names its own field."""
    from aiexport.app.decisions import RejectedRows
    from aiexport.catalog import accelerators, lookup
    from aiexport.io.specs import read_specs
    from aiexport.law.classify import classify_frame

    frames = []
    if chips:
        frames.append(lookup(chips).drop(*CATALOG_ONLY))
    if specs is not None:
        result = read_specs(specs)
        if result.errors:
            raise RejectedRows(result.errors, total=result.total)
        frames.append(result.frame)
    if not frames:
        frames.append(accelerators().drop(*CATALOG_ONLY))
    return classify_frame(pl.concat(frames, how="vertical_relaxed"), on=on, posture=posture, tf32_bits=tf32_bits)
