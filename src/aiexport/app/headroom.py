"""Headroom (`aiexport headroom`, the report and the charts): how far a part sits from each line, per rule version.

For each rule version (the Oct 2022 test, the Oct 2023 TPP / performance-density test, the
91 FR 1684 review zone) it gives the distance to every line, the smallest change of TPP, of
performance density (through the die area) or of I/O bandwidth that changes the classification
— found by running the classifier itself on the candidate designs, not by a second copy of the
rule — and the largest design on the free side at the part's die area.

A line is met at or above its value (``>=``), so a part exactly on a line has distance 0 on the
controlled side; leaving it needs any decrease (``lose > 0``).
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from pathlib import Path

import polars as pl

from aiexport.engine.params import ParameterStore, default_store
from aiexport.errors import InputError
from aiexport.law.classify import classify_frame
from aiexport.law.metrics import MICRO

THROUGHPUT = ["tops_fp64", "tops_tf32", "tops_fp16", "tops_fp8", "tops_int8", "tops_fp4"]

TITLES = {
    "2022": "Oct 2022 rule (87 FR 62186): TPP AND I/O rate",
    "2023": "Oct 2023 rule (88 FR 73458): TPP and performance density",
    "zone": "91 FR 1684 review zone (US to China/Macau: case-by-case below the lines)",
    "hbm": "Dec 2024 rule (89 FR 96790): 3A090.c high-bandwidth memory, memory bandwidth density",
}


def versions(store: ParameterStore, posture: str, on: dt.date) -> list[tuple[str, str, dt.date, dt.date, str]]:
    """The rule versions in force by ``on``, read from the parameters (never hard-coded dates):
    (label, title, first day, the day headroom is measured on, kind)."""
    out = []
    hist = [v for v in store.parameter("ac_rule_version").history(posture) if v.value in ("2022", "2023")]
    for i, v in enumerate(hist):
        if v.since > on:
            continue
        last = hist[i + 1].since - dt.timedelta(days=1) if i + 1 < len(hist) else on
        day = min(on, last)
        out.append((store.rule_set_label(v.since, posture), TITLES[str(v.value)], v.since, day, str(v.value)))
    hbm = [v for v in store.parameter("hbm_memory_bandwidth_density").history(posture) if v.value is not None]
    if hbm and hbm[0].since <= on:
        out.append((store.rule_set_label(hbm[0].since, posture), TITLES["hbm"], hbm[0].since, on, "hbm"))
    zone = [v for v in store.parameter("china_case_by_case_tpp").history(posture) if v.value is not None]
    if zone and zone[0].since <= on:
        out.append((store.rule_set_label(zone[0].since, posture), TITLES["zone"], zone[0].since, on, "zone"))
    return out


def _f(x: Fraction | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def _micro_ceil(x: Fraction) -> int:
    return math.ceil(x * MICRO)


def _micro_floor(x: Fraction) -> int:
    return math.floor(x * MICRO)


def _answer(r: dict) -> str:
    if r["needs_facts"] is not None and len(r["needs_facts"]):
        return "needs " + ", ".join(r["needs_facts"])
    return r["paragraph"] or "not 3A090"


def _variant(row: dict, *, tpp: int | None = None, area: int | None = None, io: int | None = None) -> dict:
    v = dict(row)
    if tpp is not None:  # the TPP itself (precision throughputs dropped so the stated TPP is used)
        v.update({c: None for c in THROUGHPUT}, tpp_stated=tpp)
    if area is not None:
        v["die_area"] = area
    if io is not None:
        v["interconnect"] = io
    return v


class _Classifier:
    """Classifies variant rows with the engine. Headroom asks for rows that depend only on the part
    and the parameters (never on earlier answers), so a first pass can record every request and
    one ``classify_frame`` per date answers all the parts of a catalog at once."""

    def __init__(self, schema: dict, posture: str, store: ParameterStore):
        self.schema, self.posture, self.store = schema, posture, store
        self.cols = list(schema)
        self.known: dict[tuple, dict] = {}
        self.pending: dict[dt.date, dict[tuple, dict]] = {}

    def _key(self, day: dt.date, row: dict) -> tuple:
        return (day, *(row.get(c) for c in self.cols))

    def __call__(self, rows: list[dict], day: dt.date) -> list[dict]:
        keys = [self._key(day, r) for r in rows]
        missing = [(k, r) for k, r in zip(keys, rows, strict=True) if k not in self.known]
        if missing:
            self.pending.setdefault(day, {}).update(dict(missing))
            self.run()
        return [self.known[k] for k in keys]

    def record(self, rows: list[dict], day: dt.date) -> list[dict]:
        out = []
        for r in rows:
            k = self._key(day, r)
            if k not in self.known:
                self.pending.setdefault(day, {})[k] = r
            out.append(self.known.get(k) or {"paragraph": None, "needs_facts": [], "tpp": None, "applicable_die_area": None})
        return out

    def run(self) -> None:
        for day, todo in self.pending.items():
            frame = pl.DataFrame([{c: r.get(c) for c in self.cols} for r in todo.values()], schema=self.schema)
            out = classify_frame(frame, on=day, posture=self.posture, store=self.store, explain=False)
            for k, a in zip(todo, out.select("paragraph", "needs_facts", "tpp", "applicable_die_area").to_dicts(), strict=True):
                self.known[k] = a
        self.pending = {}


def _crossings(lines: list[tuple[Fraction, dict, dict]], now: Fraction, current: str, dimension: str, unit: str,
               classify, day: dt.date) -> tuple[dict, list]:
    """Each line L with a design on it (meets) and just below it: the nearest line whose crossing
    changes the classification, upward (gain at least L - now) and downward (lose more than now - L)."""
    answers = classify([v for _, m, b in lines for v in (m, b)], day)
    up = down = None
    for i, (L, _, _) in enumerate(lines):
        at, below = _answer(answers[2 * i]), _answer(answers[2 * i + 1])
        if L > now and at != current and (up is None or L < up[0]):
            up = (L, at)
        if L <= now and below != current and (down is None or L > down[0]):
            down = (L, below)
    res: dict = {"dimension": dimension, "unit": unit}
    if up:
        res["gain"] = {"at_least": _f(up[0] - now), "line": _f(up[0]), "becomes": up[1]}
    if down:
        res["lose"] = {"more_than": _f(now - down[0]), "line": _f(down[0]), "becomes": down[1]}
    return res, answers


def headroom_rows(rows: list[dict], schema: dict, on: dt.date, posture: str = "enforced", store: ParameterStore | None = None,
                  die_area_mm2: Fraction | None = None) -> list[dict]:
    """Headroom of normalised spec rows (see ``aiexport.io.specs``) for each rule version in force by ``on``."""
    store = store or default_store()
    if die_area_mm2 is not None:
        rows = [dict(r, die_area=_micro_ceil(die_area_mm2)) for r in rows]
    clf = _Classifier(schema, posture, store)
    clf(rows, on)  # the parts themselves first: the designs to try depend on their TPP and die area
    for r in rows:  # first pass: record every design to classify
        _headroom(r, on, posture, store, clf.record)
    clf.run()
    return [_headroom(r, on, posture, store, clf) for r in rows]


def headroom_row(row: dict, schema: dict, on: dt.date, posture: str = "enforced", store: ParameterStore | None = None,
                 die_area_mm2: Fraction | None = None) -> dict:
    return headroom_rows([row], schema, on, posture, store, die_area_mm2)[0]


def _headroom(row: dict, on: dt.date, posture: str, store: ParameterStore, classify) -> dict:
    base = classify([row], on)[0]
    T, A = base["tpp"], base["applicable_die_area"]
    io, bw = row.get("interconnect"), row.get("memory_bandwidth")
    out = {
        "name": row.get("name"), "on": on.isoformat(), "posture": posture,
        "total_processing_performance": _f(Fraction(T, MICRO)) if T is not None else None,
        "applicable_die_area_mm2": _f(Fraction(A, MICRO)) if A else None,
        "performance_density": _f(Fraction(T, A)) if T is not None and A else None,
        "interconnect_bandwidth_gbps": _f(Fraction(io, MICRO)) if io is not None else None,
        "memory_bandwidth_gbps": _f(Fraction(bw, MICRO)) if bw is not None else None,
        "datacenter": row.get("datacenter"),
        "versions": [],
    }
    is_hbm = row.get("device_type") == "hbm"
    for vid, label, since, day, kind in versions(store, posture, on):
        if is_hbm != (kind == "hbm"):  # HBM stacks are measured against 3A090.c only, logic ICs never
            continue
        p = store.snapshot(day, posture)
        entry: dict = {"version": vid, "kind": kind, "title": label, "since": since.isoformat(), "as_of": day.isoformat(),
                       "lines": [], "change": []}
        if kind == "zone":
            if not p.in_force("china_case_by_case_tpp"):
                continue
            zt, zb = p.china_case_by_case_tpp, p.china_case_by_case_dram_bandwidth
            for name, param, value, unit in (("TPP", zt, T, "TPP"), ("DRAM bandwidth", zb, bw, "GB/s")):
                entry["lines"].append(_line(f"91 FR 1684 zone: {name} < {param.value}", param, value, unit, below_is_inside=True))
            inside = T is not None and bw is not None and T < zt.value * MICRO and bw < zb.value * MICRO
            entry["classification"] = "inside the zone (case-by-case)" if inside else (
                "zone unknown (DRAM bandwidth not stated)" if bw is None and T is not None and T < zt.value * MICRO else "outside the zone (presumption of denial)")
            entry["largest_free_design"] = {
                "meaning": "the largest design inside the zone (case-by-case review rather than denial for China)",
                "tpp_below": zt.value, "dense_fp8_tflops_below": _f(Fraction(zt.value) / 8, 3),
                "dram_bandwidth_below_gbps": zb.value,
            }
            out["versions"].append(entry)
            continue
        current = _answer(classify([row], day)[0])
        if kind == "hbm":
            entry["classification"] = current
            _hbm_headroom(entry, row, p, current, classify, day)
            out["versions"].append(entry)
            continue
        entry["classification"] = current
        if kind == "2022":
            tl, il = p.tpp_2022, p.io_rate_2022
            entry["lines"] += [_line("3A090.a (2022): TPP", tl, T, "TPP"), _line("3A090.a (2022): I/O rate", il, io, "GB/s")]
            tpp_lines = [tl.fraction]
            pd_lines: list[tuple[str, Fraction]] = []
        else:
            tpp_params = [("3A090.a.1: TPP", p.tpp_a1), ("3A090.a.2: TPP", p.tpp_a2), ("3A090.b.1: TPP", p.tpp_b1),
                          ("3A090.b.2: TPP", p.tpp_b2), ("Note to 3A090 (non-datacenter): TPP", p.tpp_non_datacenter)]
            pd_params = [("3A090.a.2: PD", p.pd_a2), ("3A090.b.1: PD", p.pd_b1), ("3A090.b.2: PD", p.pd_b2)]
            seen = set()
            for name, prm in tpp_params:
                if prm.value is not None and (name.split(":")[0], prm.value) not in seen:
                    entry["lines"].append(_line(name, prm, T, "TPP"))
            for name, prm in pd_params:
                entry["lines"].append(_line(name, prm, None if not A or T is None else Fraction(T, A), "TPP/mm2", exact=True))
            tpp_lines = sorted({prm.fraction for _, prm in tpp_params if prm.value is not None})
            pd_lines = [(name, prm.fraction) for name, prm in pd_params]
        # TPP at this die area: every line in TPP terms, evaluated on and just below it
        if T is not None:
            cands = set(tpp_lines) | ({q * Fraction(A, MICRO) for _, q in pd_lines} if A else set())
            lines = [(c, _variant(row, tpp=_micro_ceil(c)), _variant(row, tpp=_micro_ceil(c) - 1)) for c in sorted(cands)]
            change, answers = _crossings(lines, Fraction(T, MICRO), current, "TPP (die area fixed)", "TPP", classify, day)
            entry["change"].append(change)
            entry["largest_free_design"] = _largest_free(lines, answers, A, kind)
        # performance density through the die area (TPP fixed): PD >= q  <=>  area <= TPP / q
        if T is not None and A and pd_lines:
            lines = []
            for _, q in pd_lines:
                lo = _micro_floor(Fraction(T, MICRO) / q)
                lines.append((q, _variant(row, area=lo), _variant(row, area=lo + 1)))
            change, _ = _crossings(lines, Fraction(T, A), current, "performance density (TPP fixed, die area changes)", "TPP/mm2",
                                   classify, day)
            entry["change"].append(change)
        if kind == "2022" and T is not None and io is not None:
            il = p.io_rate_2022.fraction
            lines = [(il, _variant(row, io=_micro_ceil(il)), _variant(row, io=_micro_ceil(il) - 1))]
            change, _ = _crossings(lines, Fraction(io, MICRO), current, "I/O bandwidth", "GB/s", classify, day)
            entry["change"].append(change)
        out["versions"].append(entry)
    return out


def _hbm_headroom(entry: dict, row: dict, p, current: str, classify, day: dt.date) -> None:
    """3A090.c is met strictly above the density line (> 2 GB/s/mm2): a stack exactly on it is free;
    License Exception HBM is available strictly below its ceiling."""
    bw, area = row.get("memory_bandwidth"), row.get("package_area")
    q = p.hbm_memory_bandwidth_density
    density = Fraction(bw, area) if bw is not None and area else None
    ln = _line("3A090.c: memory bandwidth density", q, density, "GB/s/mm2", exact=True)
    if density is not None:  # met strictly above: at the line is the free side
        met = density > q.fraction
        ln["side"] = "above (>): 3A090.c" if met else "at or below: not 3A090.c"
        ln["to_cross"] = ("lose at least " if met else "gain more than ") + f"{_f(abs(density - q.fraction))} GB/s/mm2"
    entry["lines"].append(ln)
    if p.in_force("license_exception_hbm_ceiling"):
        entry["lines"].append(_line("License Exception HBM ceiling (available below)", p.license_exception_hbm_ceiling,
                                    density, "GB/s/mm2", exact=True, below_is_inside=True))
    if density is None:
        return
    line_bw = q.fraction * Fraction(area, MICRO)  # bandwidth on the line at this package area
    at = _micro_floor(line_bw)
    answers = classify([dict(row, memory_bandwidth=at), dict(row, memory_bandwidth=at + 1)], day)
    now = Fraction(bw, MICRO)
    change: dict = {"dimension": "memory bandwidth (package area fixed)", "unit": "GB/s"}
    if now <= line_bw and _answer(answers[1]) != current:
        change["gain"] = {"more_than": _f(line_bw - now), "line": _f(line_bw), "becomes": _answer(answers[1])}
    if now > line_bw and _answer(answers[0]) != current:
        change["lose"] = {"at_least": _f(now - line_bw), "line": _f(line_bw), "becomes": _answer(answers[0])}
    entry["change"].append(change)


def _line(name: str, param, value, unit: str, *, exact: bool = False, below_is_inside: bool = False) -> dict:
    threshold = param.fraction
    if value is None:
        return {"line": name, "threshold": _f(threshold), "unit": unit, "value": None, "distance": None, "side": "unknown", "cite": param.cite}
    v = value if exact else Fraction(value, MICRO)
    meets = v >= threshold
    side = ("outside (at or above)" if meets else "inside (below)") if below_is_inside else ("meets (>=)" if meets else "below")
    return {"line": name, "threshold": _f(threshold), "unit": unit, "value": _f(v), "distance": _f(abs(v - threshold)),
            "side": side, "cite": param.cite,
            "to_cross": ("lose more than " if meets else "gain at least ") + f"{_f(abs(v - threshold))} {unit}"}


def _largest_free(lines, answers, area, kind) -> dict:
    """The free side ends just under the lowest line above the largest free design found."""
    free = [(L, i) for i, (L, _, _) in enumerate(lines) if _answer(answers[2 * i + 1]) == "not 3A090"]
    free += [(L + Fraction(1, MICRO), i) for i, (L, _, _) in enumerate(lines) if _answer(answers[2 * i]) == "not 3A090"]
    if not free:
        return {"meaning": "no design at this die area is outside 3A090"}
    best = max(x for x, _ in free)
    above = [L for L, _, _ in lines if L >= best]
    if not above:
        return {"meaning": "outside 3A090 at any TPP (the 2022 test with I/O below 600 GB/s)", "tpp_below": None}
    line = min(above)
    return {
        "meaning": "the largest design outside 3A090 at this die area" + (" and I/O rate" if kind == "2022" else ""),
        "die_area_mm2": _f(Fraction(area, MICRO)) if area else None,
        "tpp_below": _f(line), "dense_fp8_tflops_below": _f(line / 8, 3),
    }


def catalog_rows(chips: list[str], specs: Path | None) -> tuple[list[dict], dict]:
    from aiexport.app.decisions import RejectedRows
    from aiexport.catalog import CatalogLookupError, accelerators, lookup
    from aiexport.io.specs import NORMALISED_SCHEMA, read_specs

    frames = []
    if chips:
        try:
            frames.append(lookup(chips).select(list(NORMALISED_SCHEMA)))
        except CatalogLookupError as exc:
            raise InputError("command line", None, "CHIP", "a catalog chip name (see `aiexport chips`)", str(exc)) from None
    if specs is not None:
        result = read_specs(specs)
        if result.errors:
            raise RejectedRows(result.errors, total=result.total)
        frames.append(result.frame.select(list(NORMALISED_SCHEMA)))
    if not frames:
        frames.append(accelerators().select(list(NORMALISED_SCHEMA)))
    frame = pl.concat(frames, how="vertical_relaxed")
    return frame.to_dicts(), dict(frame.schema)


def change_text(c: dict) -> str:
    parts = []
    for key, word in (("gain", "gain"), ("lose", "lose")):
        if key in c:
            d = c[key]
            amount = f"≥ {d['at_least']:,}" if "at_least" in d else f"> {d['more_than']:,}"
            parts.append(f"{word} {amount} {c['unit']} → {d['becomes']}")
    return f"{c['dimension']}: " + ("; ".join(parts) or "no change of this alone flips the classification")
