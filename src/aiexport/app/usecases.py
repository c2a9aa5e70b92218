"""The use cases. Each takes validated inputs (app.models) and, for anything that writes or
needs a role, an authenticated Actor; each returns data. No printing, no exit codes."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from aiexport.app.errors import AppError, Busy, Conflict, Invalid, NotFound
from aiexport.app.models import (
    CheckRequest,
    ClassifyRequest,
    DispositionRequest,
    ExplainRequest,
    HoldAction,
    ScreenRequest,
)
from aiexport.auth.service import Actor
from aiexport.errors import InputError, InputErrors

SOURCE = "request"


# ----------------------------------------------------------------------------- decisions


def _notices(ids: list[str]):
    from dataclasses import replace

    from aiexport.law.overlays import bundled_notice

    return [replace(bundled_notice(n), enabled=True) for n in ids]


def parse_transactions(rows: list, source: str = SOURCE):
    from aiexport.io.transactions import parse

    txs, errors, numbers = parse(rows, source)
    if errors:
        raise InputErrors(errors)
    return txs, numbers


def check(req: CheckRequest, ledger=None, on_record=None) -> list[dict]:
    """License determinations, the JSON contract of `aiexport check --format json`. With a
    ledger, LPP consumption is read from it (as a fact) before deciding. ``on_record``: an open
    ledger to read the VEU authorizations on record from (the server's, instead of opening the
    database for each decision, as the CLI does)."""
    from aiexport.app.decisions import decide_checked
    from aiexport.app.record import ledger_lpp_lookup
    from aiexport.law.decide import records

    txs, numbers = parse_transactions(req.transactions)
    lookup = ledger_lpp_lookup(ledger) if ledger is not None else None
    auths = veu_lookup = None
    if on_record is not None or ledger is not None:
        from aiexport.app.veu import on_record_if_any

        auths, veu_lookup = on_record_if_any(ledger=on_record or ledger, transactions=txs)
    frame = decide_checked(txs, numbers, SOURCE, req.on, req.posture, lpp_lookup=lookup, notices=_notices(req.notices),
                           authorizations=auths, veu_lookup=veu_lookup)
    return json.loads(json.dumps(records(frame), default=str))


def record(req: CheckRequest, actor: Actor, ledger=None) -> list[dict]:
    """Decide and record in the ledger as the actor (audit chain, holds, draws)."""
    from aiexport.app.record import record_orders

    actor.require("analyst", "recording decisions")
    txs, numbers = parse_transactions(req.transactions)  # every input error before anything is written
    out = record_orders(txs, numbers, SOURCE, req.on, req.posture, actor.name, notices=_notices(req.notices), ledger=ledger)
    return json.loads(json.dumps(out.records, default=str))


def explain(req: ExplainRequest, on_record=None) -> dict:
    """The memo as data: facts, classification reasons, each rule tried (held / in force), the
    exceptions considered, the outcome with its determining rules, and the other posture's answer.
    ``decision`` is what `check` answers for the order; ``on_record`` as for `check`."""
    from aiexport.app.decisions import decide_checked, explain_rows, tests_in_force
    from aiexport.app.veu import on_record_if_any
    from aiexport.law.decide import records, rule_info
    from aiexport.law.memo import build

    txs, numbers = parse_transactions([req.transaction])
    t, n = txs[0], numbers[0]
    notices = _notices(req.notices)
    auths, balances = on_record_if_any(ledger=on_record, transactions=[t])
    row, other = explain_rows(t, n, SOURCE, req.on, req.posture, notices, veu=(auths, balances))
    rec = records(decide_checked([t], [n], SOURCE, req.on, req.posture, notices=notices, authorizations=auths,
                                 veu_lookup=balances))[0]
    memo = build(row, req.posture, rule_info)
    force = tests_in_force(row, req.posture) if not str(row.get("item_name") or "").startswith("model weights:") else {}
    tried = []
    for col, flag in force.items():
        tried.append({"test": col, "in_force": flag, "holds": row.get(col)})
    out = {
        "decision": rec,
        "facts": {k: row.get(k) for k in ("date", "kind", "from", "to_stated", "item_name", "quantity", "c_name", "c_country",
                                          "c_hq", "c_phq", "e_name", "e_country", "e_hq", "e_phq")},
        "classification": row.get("item_reasons") or [],
        "tests": tried,
        "assumptions": memo["assumptions"],
        "exceptions": memo["exceptions"],
        "determining": memo["determining"],
        "other_posture": other,
    }
    return json.loads(json.dumps(out, default=str))


def classify(req: ClassifyRequest) -> list[dict]:
    """3A090 classification of catalog chips and/or spec rows, with the reasons."""
    from aiexport.app.catalog import classify_chips, records
    from aiexport.catalog import CatalogLookupError

    with tempfile.TemporaryDirectory() as d:
        specs = None
        if req.specs:
            specs = Path(d) / "specs.json"
            specs.write_text(json.dumps(req.specs, default=str), encoding="utf-8")
        try:
            frame = classify_chips(req.chips or [], specs, req.on or dt.date.today(), req.posture, req.tf32_bits)
        except CatalogLookupError as exc:
            raise InputError(SOURCE, None, "chips", "catalog chip names (see GET /v1/chips)", str(exc)) from None
        except InputErrors as exc:
            raise InputErrors([InputError("specs", e.row, e.column, e.expected, e.got) for e in exc.errors]) from None
    return json.loads(json.dumps(records(frame), default=str))


def chips() -> list[dict]:
    from aiexport.catalog import accelerators

    return [{"name": r["name"], "vendor": r["vendor"], "release_year": r["release_year"],
             "marketed_for_datacenter": r["datacenter"]} for r in accelerators().iter_rows(named=True)]


# ----------------------------------------------------------------------------- rules and models


def rules_timeline() -> list[dict]:
    from aiexport.app.rules import timeline_records

    return timeline_records()


def rules_diff(d1: dt.date, d2: dt.date, posture: str, outcomes: bool = False) -> dict:
    from aiexport.app.rules import catalog_transactions, diff

    out = diff(d1, d2, posture, catalog_transactions("CN") if outcomes else None, source="catalog to CN")
    out = {k: out[k] for k in ("from", "to", "posture", "rule_versions", "parameters")} | (
        {"outcomes": out["outcomes_changed"]} if outcomes else {})
    return json.loads(json.dumps(out, default=str))


def rules_show(parameter: str, on: dt.date, posture: str) -> dict:
    from aiexport.app.rules import _d, _val
    from aiexport.engine.params import default_store

    store = default_store()
    name = parameter if parameter in store else (f"group:{parameter}" if f"group:{parameter}" in store else None)
    if name is None:
        raise NotFound(f"no parameter {parameter!r} (see GET /v1/rules/parameters)", field="parameter")
    p = store.parameter(name)
    v = p.at(on, posture)
    rec = {"parameter": name, "description": p.description, "unit": p.unit, "file": p.source_file, "on": on.isoformat(),
           "posture": posture, "value": _val(v), "since": _d(v.since) if v else None, "cite": v.cite if v else None,
           "history": [{"since": _d(h.since), "value": _val(h), "posture": h.posture, "cite": h.cite} for h in p.values]}
    return json.loads(json.dumps(rec, default=str))


def rules_parameters() -> list[str]:
    from aiexport.engine.params import default_store

    return sorted(default_store().parameters)


def tiers(on: dt.date, posture: str) -> dict:
    """Every country's country groups on the date, and its AI Diffusion tier while the Diffusion
    framework is in force under the posture: Tier 1 = the Tier 1 list (Supplement No. 5 to part
    740), Tier 3 = D:5 or Macau (§742.6(a)(6)(iii)(A) as codified), Tier 2 = every other."""
    import pycountry

    from aiexport.engine.params import default_store

    store = default_store()
    snap = store.snapshot(on, posture)
    groups = {}
    for name in store.parameters:
        if name.startswith("group:"):
            v = store.at(name, on, posture)
            groups[name.removeprefix("group:")] = set(v.value or ()) if v is not None else set()
    diffusion = snap.in_force("diffusion_binding")
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        cc = c.alpha_2
        member = sorted(g for g, s in groups.items() if cc in s)
        tier = None
        if diffusion and cc != "US":
            tier = 1 if cc in groups.get("Tier1", ()) else (3 if cc in groups.get("D:5", ()) or cc == "MO" else 2)
        rows.append({"country": cc, "name": getattr(c, "common_name", c.name), "groups": member, "tier": tier})
    return {"on": on.isoformat(), "posture": posture, "diffusion_in_force": diffusion, "countries": rows}


def models(on: dt.date, posture: str) -> list[dict]:
    from aiexport.app.modelweights import catalog_records

    return json.loads(json.dumps(catalog_records(on, posture), default=str))


def chip_chart(on: dt.date, posture: str) -> str:
    """The TPP x performance-density scatter of the catalog with the 3A090 regions (SVG)."""
    from aiexport.report.figures import chip_chart as chart

    return chart(on, posture)


# ----------------------------------------------------------------------------- ledger


def _amount(v):
    return str(v) if v is not None else None


def accounts(ledger) -> list[dict]:
    return json.loads(json.dumps([b.as_dict() for b in ledger.accounts()], default=str))


def account(ledger, name: str) -> dict:
    from aiexport.ledger import UnknownAccount

    try:
        bal = ledger.balance(name).as_dict()
        hist = ledger.history(name)
    except UnknownAccount:
        raise NotFound(f"no account {name!r}", field="account") from None
    return json.loads(json.dumps({"balance": bal, "history": hist}, default=str))


def adjust(ledger, actor: Actor, name: str, amount, reason: str) -> dict:
    """Correct an account's drawn amount: an officer's act (an adjust plus a release could
    otherwise leave a licence over-drawn while it shows "drawn 0"). Returns the balance (amounts as
    Decimal; `plain` for JSON), as `release_draw` and `resolve_hold` do."""
    from aiexport.ledger import LedgerBusy, LedgerError, UnknownAccount
    from aiexport.ledger.amounts import AmountError

    actor.require("officer", "adjusting a ledger account")
    try:
        return ledger.adjust(name, amount, reason, actor=actor.name)
    except UnknownAccount as exc:
        raise NotFound(str(exc), field="account") from None
    except AmountError as exc:
        raise Invalid(f"amount: expected {exc}", field="amount") from None
    except LedgerBusy as exc:  # a locked database is "retry later" (503 / exit 75), not a conflict
        raise Busy(str(exc)) from None
    except (LedgerError, ValueError) as exc:
        raise Conflict(str(exc)) from None


def release_draw(ledger, actor: Actor, name: str, ref: str, reason: str) -> dict:
    from aiexport.ledger import LedgerBusy, LedgerError, UnknownAccount, UnknownReference

    actor.require("officer", "releasing a draw")
    try:
        return ledger.release(name, ref, reason, actor=actor.name)
    except (UnknownAccount, UnknownReference) as exc:
        raise NotFound(str(exc), field="ref") from None
    except LedgerBusy as exc:
        raise Busy(str(exc)) from None
    except (LedgerError, ValueError) as exc:
        raise Conflict(str(exc)) from None


def holds(ledger, status: str | None = "open") -> list[dict]:
    out = []
    for h in ledger.holds(status):
        d = h.get("decision") or {}
        rec = d.get("record") or {}
        out.append({**{k: v for k, v in h.items() if k != "decision"},
                    "order": rec.get("id"), "item": rec.get("item"), "quantity": rec.get("quantity"),
                    "to": rec.get("to"), "consignee": (d.get("inputs") or {}).get("consignee", {}).get("name"),
                    "rules": d.get("rules"), "needs_facts": d.get("needs_facts"), "posture": d.get("posture")})
    return json.loads(json.dumps(out, default=str))


def resolve_hold(ledger, actor: Actor, hold_id: int, action: str, body: HoldAction) -> dict:
    """Only officers release or reject holds (the ledger checks it again in its own table)."""
    from aiexport.auth.service import ensure_ledger_officer
    from aiexport.ledger import Conflict as LedgerConflict
    from aiexport.ledger import LedgerBusy, NotPermitted, UnknownHold

    actor.require("officer", f"{action} of a hold")
    try:
        ensure_ledger_officer(ledger, actor)  # the local admin (no user row) in the ledger's officer table
        out = ledger.resolve_hold(hold_id, action, body.reason_code, body.reason, actor=actor.name)
    except UnknownHold as exc:
        raise NotFound(str(exc), field="hold_id") from None
    except LedgerBusy as exc:
        raise Busy(str(exc)) from None
    except LedgerConflict as exc:
        raise Conflict(str(exc)) from None
    except NotPermitted as exc:
        from aiexport.app.errors import Forbidden

        raise Forbidden(str(exc)) from None
    except ValueError as exc:
        field, _, expected = str(exc).partition(": ")
        raise InputError(SOURCE, None, "reason_code" if "code" in field else "reason", expected, body.reason_code) from None
    return out


def plain(obj):
    """Data as JSON would carry it (amounts and dates as text): what the REST API answers."""
    return json.loads(json.dumps(obj, default=str))


def audit_verify(ledger) -> dict:
    return json.loads(json.dumps(ledger.verify().as_dict(), default=str))


def audit_log(ledger, limit: int, offset: int) -> list[dict]:
    rows = ledger.audit_log()
    return json.loads(json.dumps(rows[offset: offset + limit], default=str))


# ----------------------------------------------------------------------------- screening


def _index(ledger):
    from aiexport.screening.store import NoLists, current_index

    try:
        return current_index(ledger)
    except NoLists as exc:
        raise NotFound(f"no restricted-party lists are loaded ({exc}); run `aiexport lists load FILE`") from None


def screen(ledger, req: ScreenRequest) -> list[dict]:
    from aiexport.screening.store import screen_parties

    queries = []
    for i, p in enumerate(req.parties, start=1):
        name = (p.get("name") or "").strip()
        if not name:
            raise InputError(SOURCE, i, "name", "a non-empty party name", p.get("name"))
        queries.append((p.get("id"), name, (p.get("country") or None)))
    index, _ = _index(ledger)
    return json.loads(json.dumps(screen_parties(index, queries, req.threshold, ledger), default=str))


def lists(ledger) -> list[dict]:
    from aiexport.screening.store import versions

    return json.loads(json.dumps(versions(ledger), default=str))


def dispositions(ledger) -> list[dict]:
    from aiexport.screening.store import disposition_payload, dispositions

    return json.loads(json.dumps([disposition_payload(d) for d in dispositions(ledger).values()], default=str))


def dispose(ledger, actor: Actor, req: DispositionRequest) -> dict:
    """Only officers dispose of screening matches."""
    from aiexport.screening.store import dispose as do

    actor.require("officer", "disposing of a screening match")
    index, _ = _index(ledger)
    try:
        return json.loads(json.dumps(do(ledger, index, req.party, req.country, req.entry, req.status, req.reason,
                                        actor.name), default=str))
    except ValueError as exc:
        field, _, expected = str(exc).partition(": ")
        raise InputError(SOURCE, None, field.lstrip("-"), expected) from None


__all__ = ["AppError"]
