"""Rule versions, what changed between two dates and which outcomes flip: moved out of
`commands/rules.py` (issue 12); the CLI, the API and the web call these."""

from __future__ import annotations

import datetime as dt

from aiexport.engine.params import ParameterStore, default_store
from aiexport.io.transactions import Transaction
from aiexport.law.decide import decide, records


def _d(v) -> str | None:
    return v.isoformat() if isinstance(v, dt.date) else (None if v is None else str(v))


def timeline_records(store: ParameterStore | None = None) -> list[dict]:
    from aiexport.law import reach

    store = store or default_store()
    out = []
    # the legal-reach rule versions (X0-X12, issue 10) are kept out of the store's timeline so that
    # rule_set labels do not change (docs/legal-reach.md §9.5); listed here with the others
    for t in sorted([*store.timeline, *reach.timeline()], key=lambda t: t["effective"]):
        if t["posture"] == "enforced":
            status = "enforcement policy / guidance (not CFR text): enforced posture only"
        elif t.get("enforcement"):
            status = f"in the CFR; {t['enforcement']}"
        else:
            status = "in the CFR and enforced"
        out.append({"id": t["id"], "title": t["title"], "cite": t["cite"], "published": _d(t.get("published")),
                    "effective": _d(t["effective"]), "compliance": _d(t.get("compliance")), "posture": t["posture"],
                    "status": status})
    return out


def _val(v) -> object:
    if v is None:
        return None
    if isinstance(v.value, frozenset):
        return sorted(v.value)
    return v.value


def parameter_changes(d1: dt.date, d2: dt.date, posture: str, store: ParameterStore | None = None) -> list[dict]:
    store = store or default_store()
    out = []
    for name, p in sorted(store.parameters.items()):
        a, b = p.at(d1, posture), p.at(d2, posture)
        if a is b:
            continue
        va, vb = _val(a), _val(b)
        rec = {"parameter": name, "before": va, "after": vb, "since": _d(b.since) if b else None,
               "cite": b.cite if b else None, "file": p.source_file}
        if isinstance(va, list) or isinstance(vb, list):
            rec["added"] = sorted(set(vb or []) - set(va or []))
            rec["removed"] = sorted(set(va or []) - set(vb or []))
            if not rec["added"] and not rec["removed"]:
                continue
        out.append(rec)
    return out


def rule_versions_between(d1: dt.date, d2: dt.date, posture: str, store: ParameterStore | None = None) -> list[dict]:
    lo, hi = min(d1, d2), max(d1, d2)
    return [t for t in timeline_records(store) if t["posture"] in ("both", posture) and lo < dt.date.fromisoformat(t["effective"]) <= hi]


def catalog_transactions(to: str) -> list[Transaction]:
    """Every catalog chip and model, exported from the US to ``to`` (the catalog as an order book)."""
    from aiexport.catalog import accelerators
    from aiexport.law.models import catalog

    txs = []
    day = dt.date(2000, 1, 1)  # replaced by the diff dates
    for name in accelerators()["name"].to_list():
        txs.append(Transaction.model_validate({"id": f"chip: {name}", "date": day, "from": "US", "to": to,
                                               "item": {"chip": name}, "consignee": {"country": to}}))
    for row in catalog():
        txs.append(Transaction.model_validate({"id": f"model: {row['model']}", "date": day, "from": "US", "to": to,
                                               "item": {"model": row["model"]}, "consignee": {"country": to}}))
    return txs


def outcome_changes(txs: list[Transaction], d1: dt.date, d2: dt.date, posture: str, *, source: str,
                    rows: list[int] | None = None, notices=None) -> list[dict]:
    before = records(decide(txs, on=d1, posture=posture, source=source, rows=rows, notices=notices))
    after = records(decide(txs, on=d2, posture=posture, source=source, rows=rows, notices=notices))
    out = []
    key = ("outcome", "license_exception", "review_policy", "eccn")
    for a, b in zip(before, after, strict=True):
        if tuple(a[k] for k in key) == tuple(b[k] for k in key):
            continue
        out.append({
            "id": a["id"], "item": a["item"], "route": f"{a['from']}→{a['to']}",
            "before": {k: a[k] for k in key} | {"rules": a["rules"], "rule_set": a["rule_set"]},
            "after": {k: b[k] for k in key} | {"rules": b["rules"], "rule_set": b["rule_set"]},
            "rules_added": [r for r in b["rules"] if r not in a["rules"]],
            "rules_removed": [r for r in a["rules"] if r not in b["rules"]],
        })
    return out


def diff(d1: dt.date, d2: dt.date, posture: str, txs: list[Transaction] | None, *, source: str, rows=None,
         notices=None) -> dict:
    """What changed between two dates under the posture: the rule sets, the rule versions taking
    effect, the parameters that changed and, for the orders given (``txs``), the outcomes that
    flip and why (the JSON of `aiexport rules diff`)."""
    from aiexport.engine.params import default_store

    store = default_store()
    out = {"from": d1.isoformat(), "to": d2.isoformat(), "posture": posture, "orders": source,
           "rule_set": {"from": store.rule_set_label(d1, posture), "to": store.rule_set_label(d2, posture)},
           "rule_versions": rule_versions_between(d1, d2, posture), "parameters": parameter_changes(d1, d2, posture)}
    if txs is not None:
        out["outcomes_changed"] = outcome_changes(txs, d1, d2, posture, source=source, rows=rows, notices=notices)
        out["orders_count"] = len(txs)
    return out
