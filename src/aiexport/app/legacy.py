"""THE ONE adapter onto logic that still lives in `commands/check.py` and `commands/record.py`
(LPP sequencing, decision recording). Those modules are being edited by the issue 9/11/14 work;
the lead moves these functions into `app/` after that work lands. Nothing else in `app/`
imports from `commands/`."""

from __future__ import annotations

import datetime as dt

import polars as pl

from aiexport.errors import InputError, InputErrors


def decide_checked(txs, numbers, source: str, on: dt.date | None, posture: str, *, explain: bool = False,
                   lpp_lookup=None, notices=None) -> pl.DataFrame:
    """What `commands.check.run_frame` does (decide, LPP in sequence, refuse overflowing totals,
    restricted parties), raising InputErrors instead of printing and exiting."""
    from aiexport.commands.check import _sequential_lpp
    from aiexport.law.decide import decide
    from aiexport.law.metrics import MICRO, product_overflows
    from aiexport.screening.determination import overlay

    frame = decide(txs, on=on, posture=posture, source=source, rows=numbers, explain=explain,
                   lpp_lookup=lpp_lookup, notices=notices)
    if lpp_lookup is not None:
        frame = _sequential_lpp(frame, txs, numbers, on, posture, source, lpp_lookup, notices)
    if "system_tpp" in frame.columns:
        rows = {t.id: n for t, n in zip(txs, numbers, strict=True)}
        bad = frame.filter(product_overflows(pl.col("system_tpp"), pl.col("quantity")) | (pl.col("system_tpp") < 0))
        if bad.height:
            raise InputErrors([
                InputError(source, rows.get(r["id"]), "quantity",
                           f"an order whose total TPP can be computed exactly ({r['quantity']:,} units x "
                           f"{r['system_tpp'] / MICRO:,.0f} TPP is beyond any real order)", r["quantity"])
                for r in bad.iter_rows(named=True)])
    return overlay(frame, txs)


def record_file(path, on, posture: str, actor_name: str, notices=None) -> list[dict]:
    """`check --record` on a validated file, as the authenticated actor."""
    import typer

    from aiexport.app.errors import Conflict
    from aiexport.commands.record import check_and_record

    try:
        return check_and_record(path, on, posture, actor_name, notices=notices)
    except typer.Exit as exc:  # refused by the ledger (conflict / a draw that does not fit / busy)
        raise Conflict(f"the ledger refused to record (exit {exc.exit_code}): a conflicting record, a draw that "
                       "does not fit, or a busy database; what was recorded before stays recorded") from None


def lpp_lookup(ledger):
    from aiexport.commands.record import ledger_lpp_lookup

    return ledger_lpp_lookup(ledger)


def in_force(row: dict, posture: str) -> dict[str, bool]:
    from aiexport.commands.check import _in_force

    return _in_force(row, posture)


def memo_html(row: dict, other: dict, posture: str) -> str:
    """The CLI's memo as HTML (the report module swaps console globals: serialised)."""
    from aiexport.commands.check import render_memo
    from aiexport.commands.models import render_model_memo
    from aiexport.report.render import memo_html as render_html

    with _MEMO_LOCK:
        fn = render_model_memo if str(row.get("item_name") or "").startswith("model weights:") else render_memo
        return render_html(fn, row, other, posture)


import threading  # noqa: E402

_MEMO_LOCK = threading.Lock()
