"""Model weights under ECCN 4E091: the catalog's status on a date and training-compute estimates,
moved out of `commands/models.py` (issue 12)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from aiexport.catalog import CatalogLookupError, accelerators_raw, resolve
from aiexport.engine.params import default_store
from aiexport.errors import InputError
from aiexport.law import models as law

PRECISIONS = ("fp64", "tf32", "fp16", "fp8", "int8", "fp4")


def _ratio(x: Fraction | None, threshold: Fraction) -> float | None:
    return None if x is None else float(x / threshold)


def catalog_records(on: dt.date, posture: str = "enforced") -> list[dict]:
    """Every catalog model with its 4E091 status on the date (classification of the weights)."""
    threshold = default_store().snapshot(max(on, dt.date(2025, 1, 13)), posture).model_weights_threshold_operations.fraction
    out = []
    for row in law.catalog():
        if str(row["release_date"] or "")[:10] > on.isoformat():
            continue  # not released yet on the date
        m = law.from_catalog(row)
        st = law.classify_model(m, on, posture)
        ops = m.training_operations
        if st.controlled is None:
            status = "needs " + ", ".join(st.needs)
        elif st.controlled:
            status = "4E091 (closed weights, ≥ 10^26)"
        elif "4E091.note.published" in st.rules:
            status = "not controlled: published weights"
        elif "4E091.not-in-force" in st.rules:
            status = "4E091 not in force"
        else:
            status = "below 10^26"
        ratio = _ratio(ops, threshold)
        out.append({
            "model": m.name, "organization": m.organization, "country": m.country, "released": row["release_date"],
            "parameters": int(row["parameters"]) if row["parameters"].strip() else None,
            "training_operations": None if ops is None else float(ops),
            "training_operations_exact": None if ops is None else str(Decimal(ops.numerator) / Decimal(ops.denominator)),
            "operations_source": "Epoch AI estimate",
            "published": m.published, "eccn": st.eccn, "status": status,
            "share_of_threshold": ratio,
            "times_below_threshold": None if not ratio or ratio >= 1 else round(1 / ratio, 1),
            "rules": st.rules, "on": on.isoformat(),
        })
    out.sort(key=lambda r: -(r["training_operations"] or 0))
    return out


def estimate(*, parameters: Fraction | None = None, active_parameters: Fraction | None = None, tokens: Fraction | None = None,
             gpu_hours: Fraction | None = None, chip: str | None = None, precision: str = "fp16",
             utilisation: Fraction | None = None) -> dict:
    """Training operations from (active) parameters x tokens, or GPU-hours x peak x utilisation."""
    if tokens is not None and (parameters is not None or active_parameters is not None):
        n = active_parameters if active_parameters is not None else parameters
        ops = 6 * n * tokens
        label = "6 × active parameters × tokens (mixture-of-experts)" if active_parameters is not None else "6 × parameters × tokens (dense)"
        return {"method": "parameters-tokens", "formula": label, "operations": ops,
                "inputs": {"parameters": parameters, "active_parameters": active_parameters, "tokens": tokens},
                "basis": "4E091 Technical Note 2: 6N operations per training data point (forward + backward)"}
    if gpu_hours is not None and chip is not None:
        try:
            i = resolve(chip)
        except CatalogLookupError as exc:
            raise InputError("command line", None, "--chip", "a catalog chip name (see `aiexport chips`)", str(exc)) from None
        row = accelerators_raw().row(i, named=True)
        name = f"{row['vendor']} {row['model']} {row['variant']}".strip()
        raw = (row.get(f"dense_tops_{precision}") or "").strip()
        if not raw:
            have = [p for p in PRECISIONS if (row.get(f"dense_tops_{p}") or "").strip()]
            raise InputError("command line", None, "--precision", f"a precision the catalog lists for {name}: {', '.join(have) or 'none'}", precision)
        peak = Fraction(Decimal(raw)) * 10**12
        u = utilisation if utilisation is not None else Fraction(2, 5)
        ops = gpu_hours * 3600 * peak * u
        return {"method": "hardware", "formula": f"GPU-hours × 3600 s × peak dense {precision.upper()} ({raw} TOPS, {name}) × utilisation ({float(u):.0%}"
                + (", assumed default)" if utilisation is None else ")"),
                "operations": ops, "inputs": {"gpu_hours": gpu_hours, "chip": name, "precision": precision, "peak_tops": raw, "utilisation": u},
                "basis": "hardware-time estimate; 4E091 counts operations 'regardless of the implementation and hardware limitations'"}
    raise InputError("command line", None, "--tokens / --gpu-hours", "either --parameters (or --active-parameters) with --tokens, or --gpu-hours with --chip", None)


def estimate_record(*, utilisation: Fraction | None = None, **kw) -> dict:
    """An estimate of training operations as the record `models estimate` returns: the figure,
    its formula and basis, and where it stands against today's codified 4E091 threshold. A
    utilisation outside (0, 1] raises `InputError`."""
    if utilisation is not None and not 0 < utilisation <= 1:
        raise InputError("command line", None, "--utilisation", "a share between 0 and 1", float(utilisation))
    est = estimate(utilisation=utilisation, **kw)
    threshold = default_store().snapshot(dt.date.today(), "codified").model_weights_threshold_operations.fraction
    ops = est["operations"]
    return {"estimate": True, "method": est["method"], "formula": est["formula"], "operations": float(ops),
            "operations_text": law.sci(ops), "share_of_threshold": float(ops / threshold),
            "at_or_above_threshold": ops >= threshold, "basis": est["basis"],
            "inputs": {k: (float(v) if isinstance(v, Fraction) else v) for k, v in est["inputs"].items()}}
