"""The data behind the charts, from the same engine as every answer: the catalog classified and
its headroom (TPP x PD chart), the models catalog and the open-weight trend (models chart)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from aiexport.engine.params import ParameterStore, default_store
from aiexport.report import charts
from aiexport.report.trend import Fit, fit

NOTABLE = ("H100 SXM5", "H20", "A100 SXM4", "B200", "L40 PCIe", "RTX 4090 D", "Ascend 910C", "H800 SXM5", "MI308X")
ARROW_REACH = Fraction(3, 10)  # draw an arrow when the nearest crossing is within 30 % of the part's value


def _short(name: str) -> str:
    for v in ("NVIDIA ", "AMD Instinct ", "Huawei ", "GeForce "):
        name = name.replace(v, "")
    return name.split(" (")[0][:22]


def chip_figure_data(on: dt.date, posture: str = "enforced", store: ParameterStore | None = None) -> tuple[list, dict, list]:
    from aiexport.app.headroom import catalog_rows, headroom_rows, versions

    store = store or default_store()
    rows, schema = catalog_rows([], None)
    lines: dict = {}
    for _, _, _, day, kind in versions(store, posture, on):
        p = store.snapshot(day, posture)
        if kind == "2023":
            lines["2023"] = {k: float(getattr(p, k).fraction) for k in ("tpp_a1", "tpp_a2", "tpp_b1", "tpp_b2", "pd_a2", "pd_b1", "pd_b2")}
        elif kind == "2022":
            lines["2022"] = {"tpp": float(p.tpp_2022.fraction)}
        elif p.in_force("china_case_by_case_tpp"):  # the zone's line only while the parameter is in force
            lines["zone"] = {"tpp": float(p.china_case_by_case_tpp.fraction)}
    chips, arrows = [], []
    rows = [r for r in rows if r.get("device_type") != "hbm"]
    for h in headroom_rows(rows, schema, on, posture, store):
        tpp, pd = h["total_processing_performance"], h["performance_density"]
        v23 = next((v for v in h["versions"] if v["kind"] == "2023"), None)
        if v23 is None:
            continue
        cls = v23["classification"]
        chip = {"name": h["name"], "tpp": tpp, "pd": pd, "paragraph": None if cls.startswith(("not", "needs")) else cls,
                "needs": cls.startswith("needs")}
        best = None
        if tpp and pd:
            for change in v23["change"]:
                for direction in ("gain", "lose"):
                    if direction not in change:
                        continue
                    amount = Fraction(str(change[direction].get("at_least", change[direction].get("more_than"))))
                    base = Fraction(str(tpp)) if change["unit"] == "TPP" else Fraction(str(pd))
                    rel = amount / base if base else None
                    if rel is not None and rel <= ARROW_REACH and (best is None or rel < best[0]):
                        line = change[direction]["line"]
                        to = (line, line / h["applicable_die_area_mm2"]) if change["unit"] == "TPP" else (tpp, line)
                        best = (rel, {"name": h["name"], "from": (tpp, pd), "to": to, "becomes": change[direction]["becomes"]})
        if best:
            arrows.append(best[1])
        if any(n in h["name"] for n in NOTABLE):
            chip["label"] = _short(h["name"])
        chips.append(chip)
    return chips, lines, arrows


def chip_chart(on: dt.date, posture: str = "enforced", store: ParameterStore | None = None) -> str:
    chips, lines, arrows = chip_figure_data(on, posture, store)
    return charts.tpp_pd_chart(chips, lines, arrows, title=f"The catalog against the 3A090 lines ({posture} posture, {on})")


def model_figure_data() -> tuple[list[dict], Fit]:
    from aiexport.law import models as law

    out = []
    for row in law.catalog():
        m = law.from_catalog(row)
        ops = m.training_operations
        out.append({"name": m.name, "released": dt.date.fromisoformat(row["release_date"]),
                    "operations": None if ops is None else float(ops), "published": m.published, "country": m.country,
                    "label": ops is not None and ops >= Fraction(10) ** 25 * 3})
    trend = fit([(m["released"], m["operations"]) for m in out if m["published"] and m["operations"]])
    return out, trend


def model_chart(on: dt.date | None = None, posture: str = "codified", store: ParameterStore | None = None) -> tuple[str, Fit]:
    store = store or default_store()
    p = store.snapshot(max(on or dt.date.today(), dt.date(2025, 1, 13)), posture)
    data, trend = model_figure_data()
    threshold = float(p.model_weights_threshold_operations.fraction)
    trend = fit([(m["released"], m["operations"]) for m in data if m["published"] and m["operations"]], threshold=threshold)
    svg = charts.models_chart(data, trend, threshold=threshold, fine_tune=float(p.model_weights_fine_tune_operations.fraction))
    return svg, trend
