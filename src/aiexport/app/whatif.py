"""What if (`aiexport whatif REFORM.yaml`, the policy report): the baseline law and a reform side by side, through the same engine.

What flips: the catalog's classifications, an order book's outcomes (counted by destination and
outcome), and the bundled models under 4E091. Every flip names the rules whose answer changed and
the reform change(s) that cause it on their own.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from aiexport.engine.params import ParameterStore, bundled_store, using_store
from aiexport.engine.reforms import LoadedReform

MODEL_PARTIES = {"from": "US"}  # model-weight exports are judged from the US to --model-to


# ---- the three comparisons -------------------------------------------------------------------


def _catalog_chips(day: dt.date, posture: str) -> list[dict]:
    from aiexport.app.catalog import records
    from aiexport.catalog import accelerators
    from aiexport.law.classify import classify_frame

    frame = accelerators().drop("vendor", "model", "variant", "release_year", "source", "notes")
    return records(classify_frame(frame, on=day, posture=posture))


def _chip_answer(r: dict) -> dict:
    return {"eccn": r["eccn"], "paragraph": r["paragraph"], "needs_facts": [f["fact"] for f in r["needs_facts"]]}


def _held_changes(base: dict, new: dict) -> list[str]:
    """Rules whose comparison came out differently ("3A090.a.1: does not hold -> holds")."""
    b = {x["rule"]: x["held"] for x in base.get("reasons") or []}
    n = {x["rule"]: x["held"] for x in new.get("reasons") or []}
    word = {True: "holds", False: "does not hold", None: "unknown"}
    return [f"{rule}: {word[b.get(rule)]} -> {word[n[rule]]}" for rule in n if rule in b and b[rule] != n[rule]]


def _rule_diff(base: list[str], new: list[str]) -> list[str]:
    return [f"+{r}" for r in new if r not in base] + [f"-{r}" for r in base if r not in new]


def _order_answer(r: dict) -> dict:
    return {k: r[k] for k in ("outcome", "license_exception", "review_policy", "eccn")}


def _orders(book: tuple, on: dt.date | None, posture: str, notices: list) -> list[dict]:
    from aiexport.law.decide import decide, records

    path, txs, numbers = book
    return records(decide(txs, on=on, posture=posture, source=str(path), rows=numbers, notices=notices))


def _models(day: dt.date, posture: str, to: str) -> list[dict]:
    from aiexport.law import models as law

    out = []
    for row in law.catalog():
        m = law.from_catalog(row)
        parties = law.Parties(to=to, from_=MODEL_PARTIES["from"], located=[to], headquarters=[to])
        d = law.decide_model(m, parties, day, posture)
        out.append({"model": m.name, "organization": m.organization, "country": m.country,
                    "published": m.published, "released": row["release_date"], **{k: d[k] for k in (
                        "eccn", "outcome", "license_exception", "review_policy", "rules")}})
    return out


def _model_answer(r: dict) -> dict:
    return {k: r[k] for k in ("eccn", "outcome", "license_exception", "review_policy")}


def _run(store: ParameterStore, fn, *args):
    with using_store(store):
        return fn(*args)


def _attribute(reform: LoadedReform, kind: str, run_one) -> list[list[str]]:
    """For each change alone, the items it flips; returns per-item the names of those changes.
    (A reform of one change needs no second run: the caller's flips are that change's.)"""
    hits: list[list[str]] = []
    if len(reform.reform.changes) < 2:
        return hits
    for (store, notices), change in zip(reform.single_stores, reform.reform.changes, strict=True):
        flipped = run_one(store, notices)
        for i, f in enumerate(flipped):
            while len(hits) <= i:
                hits.append([])
            if f:
                hits[i].append(change.name)
    return hits


def _cause(reform: LoadedReform, cause: list[list[str]], i: int) -> list[str]:
    if len(reform.reform.changes) == 1:
        return [reform.reform.changes[0].name]
    return cause[i] if i < len(cause) and cause[i] else ["(only the changes combined)"]


def whatif(reform: LoadedReform, *, on: dt.date, posture: str, chips: bool = True, models: bool = True,
           orders: Path | None = None, order_on: dt.date | None = None, model_to: str = "CN") -> dict:
    """The comparison as data (the JSON contract of `aiexport whatif`)."""
    base_store = bundled_store()
    flips: list[dict] = []
    result: dict = {
        "reform": reform.name, "rationale": reform.reform.rationale, "label": reform.reform.label,
        "source": reform.reform.source, "file": reform.path, "on": on.isoformat(), "posture": posture,
        "changes": [{"name": c.name, "kind": c.kind, "change": c.summary(), "rationale": c.rationale,
                     "cite": c.cite, "proposal": c.proposal} for c in reform.reform.changes],
        "baseline_rule_set": base_store.rule_set_label(on, posture),
    }
    if chips:
        base = _run(base_store, _catalog_chips, on, posture)
        new = _run(reform.store, _catalog_chips, on, posture)
        flipped = [_chip_answer(b) != _chip_answer(n) for b, n in zip(base, new, strict=True)]
        cause = _attribute(reform, "chip", lambda s, _n: [
            _chip_answer(b) != _chip_answer(x) for b, x in zip(base, _run(s, _catalog_chips, on, posture), strict=True)])
        for i, (b, n) in enumerate(zip(base, new, strict=True)):
            if flipped[i]:
                flips.append({
                    "kind": "chip", "item": b["name"], "on": on.isoformat(),
                    "baseline": _chip_answer(b), "reform": _chip_answer(n),
                    "rules": _held_changes(b, n) or _rule_diff(b["rules"], n["rules"]),
                    "changes": _cause(reform, cause, i),
                    "detail": {"total_processing_performance": b["total_processing_performance"],
                               "performance_density": b["performance_density"]},
                })
        result["chips"] = {"count": len(base), "flipped": sum(flipped)}
    if orders is not None:
        from aiexport.app.decisions import load_transactions

        book = (orders, *load_transactions(orders))  # read and validated once, decided per store
        base = _run(base_store, _orders, book, order_on, posture, [])
        new = _run(reform.store, _orders, book, order_on, posture, reform.notices)
        flipped = [_order_answer(b) != _order_answer(n) for b, n in zip(base, new, strict=True)]
        cause = _attribute(reform, "order", lambda s, ns: [
            _order_answer(b) != _order_answer(x) for b, x in zip(base, _run(s, _orders, book, order_on, posture, ns), strict=True)])
        for i, (b, n) in enumerate(zip(base, new, strict=True)):
            if flipped[i]:
                flips.append({
                    "kind": "order", "item": b["id"], "on": b["date"], "what": f"{b['item']} × {b['quantity']:,} {b['from']}→{b['to']}",
                    "destination": b["to"], "baseline": _order_answer(b), "reform": _order_answer(n),
                    "rules": _rule_diff(b["rules"], n["rules"]),
                    "changes": _cause(reform, cause, i),
                })
        counts: Counter = Counter()
        for b, n in zip(base, new, strict=True):
            counts[(b["to"], b["outcome"], "baseline")] += 1
            counts[(n["to"], n["outcome"], "reform")] += 1
        keys = sorted({(d, o) for d, o, _ in counts})
        result["orders"] = {
            "file": str(orders), "count": len(base), "flipped": sum(flipped),
            "by_destination_and_outcome": [
                {"destination": d, "outcome": o, "baseline": counts[(d, o, "baseline")], "reform": counts[(d, o, "reform")]}
                for d, o in keys
            ],
            "by_outcome": {o: {"baseline": sum(1 for r in base if r["outcome"] == o), "reform": sum(1 for r in new if r["outcome"] == o)}
                           for o in sorted({r["outcome"] for r in base + new})},
        }
    if models:
        base = _run(base_store, _models, on, posture, model_to)
        new = _run(reform.store, _models, on, posture, model_to)
        flipped = [_model_answer(b) != _model_answer(n) for b, n in zip(base, new, strict=True)]
        cause = _attribute(reform, "model", lambda s, _n: [
            _model_answer(b) != _model_answer(x) for b, x in zip(base, _run(s, _models, on, posture, model_to), strict=True)])
        for i, (b, n) in enumerate(zip(base, new, strict=True)):
            if flipped[i]:
                flips.append({
                    "kind": "model", "item": b["model"], "on": on.isoformat(),
                    "what": f"weights exported US→{model_to} ({'published' if b['published'] else 'closed' if b['published'] is False else '?'})",
                    "baseline": _model_answer(b), "reform": _model_answer(n),
                    "rules": _rule_diff(b["rules"], n["rules"]),
                    "changes": _cause(reform, cause, i),
                })
        result["models"] = {"count": len(base), "flipped": sum(flipped), "export_to": model_to}
    result["flips"] = flips
    return result


def answer_text(a: dict) -> str:
    """One answer as a short plain label (every face shows flips with it)."""
    if "outcome" in a:
        s = a["outcome"]
        if a.get("license_exception"):
            s += f" ({a['license_exception']})"
        if a.get("review_policy"):
            s += f" ({a['review_policy']})"
        if a.get("eccn"):
            s += f" [{a['eccn']}]"
        return s
    if a.get("needs_facts"):
        return "needs " + ", ".join(a["needs_facts"])
    return a.get("paragraph") or "not 3A090"
