"""Deciding checked orders: read and validate an order file, decide (LPP in sequence within the
run, orders whose total TPP leaves exact arithmetic refused, restricted parties overlaid), and
which license-requirement / exception tests were in force on a date. Data in, data out: input
errors are raised as `InputErrors` (the faces render them), nothing is printed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from importlib import resources
from pathlib import Path

import polars as pl

from aiexport.errors import InputError, InputErrors
from aiexport.law.metrics import MICRO


class RejectedRows(InputErrors):
    """Rows of an order file refused, with how many rows the file had (`total`)."""

    def __init__(self, errors: list[InputError], total: int | None = None):
        super().__init__(errors)
        self.total = total


def example_orders() -> Path:
    return Path(str(resources.files("aiexport") / "examples" / "orders.yaml"))


def load_transactions(path: Path, allow_extra_columns: bool = False, ignored: list[str] | None = None):
    """The validated transactions of an order file and their row numbers. Columns left out
    (``allow_extra_columns``) are appended to ``ignored``. Raises `RejectedRows`."""
    from aiexport.io.transactions import load_rows, parse

    try:
        rows = load_rows(path, allow_extra_columns=allow_extra_columns, ignored=ignored if ignored is not None else [])
    except InputErrors as exc:
        raise RejectedRows(exc.errors) from None
    except InputError as exc:
        raise RejectedRows([exc]) from None
    txs, errors, numbers = parse(rows, str(path))
    if errors:
        raise RejectedRows(errors, total=len(rows))
    return txs, numbers


FAST_PATH_ROWS = 2_000  # a CSV order file at least this long is decided by the columnar batch path


def check_file_fast(path: Path, on: dt.date | None, posture: str, *, allow_extra_columns: bool = False,
                    min_rows: int | None = None, ignored: list[str] | None = None) -> list[dict] | None:
    """`check` on a long CSV order file (issue 11, item 6): the records of ``check --format json``,
    decided by the columnar batch path (`batch.core.decide_chunk`, the same rule functions; lines
    that need check's own logic, a restricted-party match among them, go through
    `decide_checked`). None when the file is not eligible — not a CSV, shorter than
    ``FAST_PATH_ROWS``, a repeated id, or any bad row: then check's own path reads it, so every
    error is reported with check's messages, as before. Columns left out (``allow_extra_columns``)
    are appended to ``ignored``, as `load_transactions` does."""
    if path.suffix.lower() != ".csv":
        return None
    from aiexport.batch.core import decide_chunk
    from aiexport.batch.run import check_columns, duplicates, scan

    try:
        lf = scan(path)
        extra = check_columns(lf, path, allow_extra_columns)
        total, dups = duplicates(lf, path)
        if total < (FAST_PATH_ROWS if min_rows is None else min_rows) or dups:
            return None
        raw = lf.collect()
    except (InputError, pl.exceptions.PolarsError, OSError):  # check's own reader names the problem
        return None
    if extra:
        raw = raw.drop(extra)
    res = decide_chunk(raw, posture=posture, on=on, source=str(path), as_records=True)
    if res.rejects.height:
        return None
    if res.screened == "not_screened" and not res.per_row:  # check's path says it for its own lines
        from aiexport.screening.determination import note_not_screened

        note_not_screened(res.screening_note)
    if extra and ignored is not None:
        ignored += extra
    return res.records


def decide_checked(txs, numbers, source: str, on: dt.date | None, posture: str, *, explain: bool = False,
                   lpp_lookup=None, notices=None, authorizations=None, veu_lookup=None) -> pl.DataFrame:
    """The decisions of `check`: decide, LPP in sequence when the ledger's consumption is read
    (``lpp_lookup``), refuse overflowing totals, overlay the restricted-party screening.
    Legal reach (issue 10): the VEU authorizations on record (``authorizations``, else those of
    the ledger database when it exists), their balances (``veu_lookup``), and the reach facts the
    restricted-party lists answer (Entity List footnotes, listed owners), with their sources."""
    from aiexport.app.veu import on_record_if_any
    from aiexport.law.decide import decide
    from aiexport.screening.determination import annotate, overlay, screen_for_reach  # issues 8, 10

    if authorizations is None:
        authorizations, balances = on_record_if_any(transactions=txs)
        veu_lookup = veu_lookup or balances
    reach_txs, fills, _ = screen_for_reach(txs)
    frame = decide(reach_txs, on=on, posture=posture, source=source, rows=numbers, explain=explain,
                   lpp_lookup=lpp_lookup, notices=notices, authorizations=authorizations, veu_lookup=veu_lookup)
    if lpp_lookup is not None:
        frame = sequential_lpp(frame, reach_txs, numbers, on, posture, source, lpp_lookup, notices,
                               authorizations=authorizations, veu_lookup=veu_lookup)
    if posture == "codified" and authorizations and veu_lookup is not None:
        frame = sequential_veu(frame, reach_txs, numbers, on, source, notices, authorizations, veu_lookup)
    refuse_overflow(frame, source, {t.id: n for t, n in zip(txs, numbers, strict=True)})
    frame = overlay(frame, txs)
    return annotate(frame, fills) if any(fills) else frame


def refuse_overflow(frame: pl.DataFrame, source: str, rows: dict[str, int]) -> None:
    """An order whose total TPP (quantity x TPP of one unit) leaves exact integer arithmetic is
    refused, never decided on a wrapped-around number."""
    if "system_tpp" not in frame.columns:
        return
    bad = frame.filter(overflows())
    if bad.height:
        raise InputErrors([overflow_error(source, rows.get(r["id"]), r) for r in bad.iter_rows(named=True)])


def overflows() -> pl.Expr:
    """True for a decided row whose total TPP (system_tpp x quantity) leaves exact arithmetic."""
    from aiexport.law.metrics import product_overflows

    return product_overflows(pl.col("system_tpp"), pl.col("quantity")) | (pl.col("system_tpp") < 0).fill_null(False)


def overflow_error(source: str, row: int | None, r: dict) -> InputError:
    return InputError(source, row, "quantity",
                      f"an order whose total TPP can be computed exactly ({r['quantity']:,} units x "
                      f"{r['system_tpp'] / MICRO:,.0f} TPP is beyond any real order: check the quantity and the item's counts)",
                      r["quantity"])


def sequential_lpp(frame, txs, numbers, on, posture, source, lpp_lookup, notices=None, *, authorizations=None,
                   veu_lookup=None):
    """Several orders to one ultimate consignee in one batch: each sees the LPP drawn by the
    earlier ones (date order), so the batch never authorises more than the yearly limit."""
    from aiexport.app.record import consignee_key
    from aiexport.law.decide import decide

    # Only orders whose answer involved LPP (a 740.29 rule among the determining rules) can
    # change with the consumption of the others; the rest keep their batch decision.
    lpp_rows = {i for i, r in enumerate(frame["rules"].to_list()) if any(x.startswith("740.29") for x in r or [])}
    groups = defaultdict(list)
    for i, t in enumerate(txs):
        if t.facts.get("lpp_consumed_tpp") is None and i in lpp_rows:
            groups[(consignee_key(t), (on or t.date).year)].append(i)
    seqs = [sorted(idx, key=lambda i: (on or txs[i].date, i)) for idx in groups.values() if len(idx) > 1]
    if not seqs:
        return frame
    # Each order's LPP consumption is the ledger's plus the LPP orders before it in its group.
    # The sequential answer is the unique fixpoint of "decide all with the consumption implied
    # by the previous round's LPP set": after round r the first r orders of every group are
    # final, so at most (longest group + 1) rounds, each one vectorised decision; usually 2-3.
    order = [i for seq in seqs for i in seq]
    base = {i: lpp_lookup(txs[i], (on or txs[i].date).year) for i in order}
    total = {i: Decimal(0) if frame["system_tpp"][i] is None else Decimal(frame["system_tpp"][i] * frame["quantity"][i]) / MICRO
             for i in order}
    is_lpp = {i: frame["license_exception"][i] == "LPP" for i in order}
    batch = None
    for _ in range(max(len(seq) for seq in seqs) + 1):
        redo = []
        for seq in seqs:
            used = Decimal(0)
            for i in seq:
                t = txs[i]
                redo.append(t.model_copy(update={"facts": {**t.facts, "lpp_consumed_tpp": base[i] + used}}))
                if is_lpp[i]:
                    used += total[i]
        batch = decide(redo, on=on, posture=posture, source=source, rows=[numbers[i] for i in order], notices=notices,
                       authorizations=authorizations, veu_lookup=veu_lookup)  # the same inputs as the first pass
        new = {i: batch["license_exception"][k] == "LPP" for k, i in enumerate(order)}
        if new == is_lpp:
            break
        is_lpp = new
    return _splice(frame, order, batch)


def _splice(frame: pl.DataFrame, order: list[int], redone: pl.DataFrame) -> pl.DataFrame:
    """FRAME with its rows ORDER replaced by the rows of REDONE (in that order)."""
    rows = {i: redone[k] for k, i in enumerate(order)}
    parts = [rows[i] if i in rows else frame[i] for i in range(frame.height)]
    # A one-row decision lacks the columns only some item kinds produce (model weights): align
    # on the batch frame's columns, in its order (missing columns are null for that row).
    return pl.concat(parts, how="diagonal_relaxed").select(frame.columns)


def sequential_veu(frame, txs, numbers, on, source, notices, authorizations, veu_lookup):
    """Several shipments under one UVEU/NVEU in one file (``codified``): each reads the balances
    the ledger gives plus what the earlier ones (date order) would draw, as LPP does, so a file
    never authorizes more than the installed base or the UVEU shares allow. The fixpoint of
    "decide all with the balances implied by the previous round's authorized set"."""
    from aiexport.app.veu import _dest, accounts, draws
    from aiexport.law.decide import decide
    from aiexport.law.reach.facts import VEU_BALANCES

    groups = defaultdict(list)
    for i, t in enumerate(txs):
        vid = str(t.facts.get("veu_authorization") or "").strip()
        if vid in authorizations and all(t.facts.get(b) is None for b in VEU_BALANCES):
            groups[vid].append(i)
    seqs = [sorted(idx, key=lambda i: (on or txs[i].date, i)) for idx in groups.values() if len(idx) > 1]
    if not seqs:
        return frame
    order = [i for seq in seqs for i in seq]
    total = {i: None if frame["system_tpp"][i] is None else Decimal(frame["system_tpp"][i] * frame["quantity"][i]) / MICRO
             for i in order}
    authorized = {i: frame["license_exception"][i] == "VEU" for i in order}
    batch = None
    for _ in range(max(len(seq) for seq in seqs) + 1):
        before: dict[str, dict[str, Decimal]] = {}  # transaction id -> account -> drawn earlier in the file
        for seq in seqs:
            used: dict[str, Decimal] = defaultdict(Decimal)
            for i in seq:
                t = txs[i]
                before[t.id] = dict(used)
                if authorized[i] and total[i] is not None:
                    a = authorizations[str(t.facts["veu_authorization"]).strip()]
                    for d in draws(a, t.to, total[i], "", on or t.date):
                        used[d["account"]] += d["amount"]

        def lookup(t, vid, before=before):
            base = veu_lookup(t, vid) or {}
            earlier = before.get(t.id, {})
            acc = accounts(authorizations[str(vid).strip()], _dest(t.to))
            return {f: base.get(f, Decimal(0)) + earlier.get(name, Decimal(0)) for f, name in acc.items()}

        redo = [txs[i] for i in order]
        batch = decide(redo, on=on, posture="codified", source=source, rows=[numbers[i] for i in order],
                       notices=notices, authorizations=authorizations, veu_lookup=lookup)
        new = {i: batch["license_exception"][k] == "VEU" for k, i in enumerate(order)}
        if new == authorized:
            break
        authorized = new
    return _splice(frame, order, batch)


def tests_in_force(row: dict, posture: str) -> dict[str, bool]:
    """Which of the memo's requirement / exception tests (trace columns) were in force on the
    decision's date under the posture (a test not in force is shown as such, not as "does not hold")."""
    from aiexport.engine.params import default_store

    p = default_store().snapshot(row["date"], posture)
    v = p.value("ac_rule_version")
    diffusion = p.in_force("diffusion_binding")
    return {
        "t_req_2022": v == "2022",
        "t_req_dest": v == "2023",
        "t_req_hq": v == "2023",
        "t_req_uae": p.in_force("uae_named_in_b_scope"),
        "t_uae_license_free": p.in_force("uae_license_free_paths"),
        "t_req_c": p.in_force("hbm_memory_bandwidth_density"),
        "t_req_world": diffusion,
        "t_restricted_9ii": v == "2023",
        "t_hbm": p.in_force("license_exception_hbm_ceiling"),
        "t_nac_aca": p.in_force("nac_available"),
        "t_aia": diffusion,
        "t_acm": p.in_force("acm_available"),
        "t_lpp": diffusion,
    }


def explain_rows(t, n: int, source: str, on: dt.date | None, posture: str, notices=None,
                 veu: tuple | None = None) -> tuple[dict, dict]:
    """One order's explained decision row (restricted parties overlaid) and the other
    posture's answer (its record) — what every memo is rendered from. ``veu``: the VEU
    authorizations on record and their balances, when the caller has read them
    (`app.veu.on_record_if_any`); else they are read here."""
    from aiexport.app.veu import on_record_if_any
    from aiexport.law.decide import decide, records
    from aiexport.screening.determination import annotate, overlay_row, screen_for_reach

    other_posture = "codified" if posture == "enforced" else "enforced"
    auths, balances = veu or on_record_if_any(transactions=[t])  # legal reach (issue 10): VEU on record, screening's reach facts
    [rt], fills, _ = screen_for_reach([t])
    frame = decide([rt], on=on, posture=posture, source=source, rows=[n], explain=True, notices=notices,
                   authorizations=auths, veu_lookup=balances)
    row = overlay_row((annotate(frame, fills) if any(fills) else frame).row(0, named=True), t)
    other = records(decide([rt], on=on, posture=other_posture, source=source, rows=[n], notices=notices,
                           authorizations=auths, veu_lookup=balances))[0]
    return row, other


def recorded_decision(decision_id: str, db: str | None = None) -> dict:
    """A recorded decision (by decision id, or an order key for its latest version) and what to
    decide it again with: the recorded inputs (plus what the ledger said then, e.g. LPP consumed),
    its date (``on`` when it differs from the order's own), posture and bundled notices. The
    ledger is only read. Raises `InputError` naming what is missing."""
    from dataclasses import replace

    from aiexport.io.transactions import Transaction
    from aiexport.law.overlays import bundled_notice
    from aiexport.ledger.db import NoLedger
    from aiexport.ledger.service import Ledger

    try:
        led = Ledger(db, read_only=True)
    except NoLedger as exc:
        raise InputError("--db", None, None, "an existing ledger", str(exc)) from None
    try:
        rec = led.decision(decision_id)
        if rec is None:  # an order key: its latest version
            rec = led.latest_versions([decision_id]).get(decision_id)
    finally:
        led.close()
    if rec is None:
        raise InputError("ledger", None, "--id", "a recorded decision id (see `holds list` or `audit log`), or give FILE",
                         decision_id)
    d = rec["decision"]
    try:
        t = Transaction.model_validate(d["inputs"])
    except Exception as exc:  # noqa: BLE001 - a record written by another version of aiexport
        raise InputError("ledger", None, "inputs", f"recorded inputs this version can read ({exc})", decision_id) from None
    if d.get("ledger_facts"):  # what the ledger said when it was decided (LPP consumed)
        t = t.model_copy(update={"facts": {**d["ledger_facts"], **t.facts}})
    day = dt.date.fromisoformat(str(d["date"]))
    ids = [r.removeprefix("notice:") for r in d.get("notices") or []]
    try:
        notices, unbundled = [replace(bundled_notice(i), enabled=True) for i in ids], []
    except InputError:
        notices, unbundled = [], ids
    return {"record": rec, "transaction": t, "date": day, "on": day if day != t.date else None,
            "posture": d["posture"], "notices": notices, "unbundled_notices": unbundled}


def same_as_recorded(rec: dict, row: dict) -> bool:
    """Whether deciding again gives the recorded outcome, exception and determining rules."""
    d = rec["decision"]
    return (d["outcome"], d.get("license_exception"), list(d.get("rules") or [])) == (
        row["outcome"], row.get("license_exception"), list(row.get("rules") or []))


def warm(postures: tuple[str, ...] = ("enforced", "codified")) -> None:
    """Decide once, under each posture, an export of every catalog chip on the first day of every
    epoch of the store, so that what a server's first requests would pay for is built before
    them: the rules' expressions of every epoch (``engine.plan.by_versions``) and the
    classification of each catalog chip (``engine.cache``). A process's first decision took
    ~290 ms, and each new epoch or chip 40-70 ms more. A request that states legal-reach facts,
    or gives its item by specs, still builds what only it needs. (`aiexport serve`; the batch's
    pool processes warm up with the chunk path's plans, ``batch.run._warm``.)"""
    from aiexport.catalog import accelerators
    from aiexport.engine.params import default_store
    from aiexport.io.transactions import Transaction
    from aiexport.law.decide import decide
    from aiexport.law.license import build_plans

    store = default_store()
    chips = accelerators()["name"].to_list()
    for posture in postures:
        build_plans(posture, store)  # (the frame below builds the first rule set's of each run only)
        days = store.boundaries(posture)
        txs = [Transaction.model_validate({
            "id": f"warm-up {n}", "date": day, "from": "US", "to": "SG", "item": {"chip": chip},
            "consignee": {"name": "warm-up", "country": "SG"}})
            for n, (day, chip) in enumerate((d, c) for d in days for c in chips)]
        decide(txs, posture=posture, source="warm-up")
