"""Worker processes for the concurrency and crash tests (run as `python _worker.py MODE ...`)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from aiexport.ledger import DrawRefused, Ledger, record_decisions


def _wait_for_go(ready: Path, go: Path) -> None:
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.005)


def draws(url: str, account: str, proc: int, n: int, shared: int, sync_dir: str) -> None:
    """n draws of 1: the first `shared` refs are attempted by every process; every 10th own ref
    is retried at once. Prints {ref: [outcome, ...]}."""
    ledger = Ledger(url, migrate=False)
    ledger.balance(account)  # connect before the start signal
    _wait_for_go(Path(sync_dir) / f"ready-{proc}", Path(sync_dir) / "go")
    outcomes: dict[str, list[str]] = {}
    for j in range(n):
        ref = f"shared-{j}" if j < shared else f"p{proc}-{j}"
        tries = 2 if j >= shared and j % 10 == 0 else 1
        for _ in range(tries):
            try:
                status = ledger.draw(account, 1, ref, actor=f"proc-{proc}").status
            except DrawRefused:
                status = "refused"
            outcomes.setdefault(ref, []).append(status)
    ledger.close()
    sys.stdout.write(json.dumps(outcomes))


def record(url: str, proc: int, n: int, sync_dir: str) -> None:
    """n one-decision batches, each drawing 1 from alloc:A and alloc:B (listed in an order that
    depends on the process, to provoke lock-order deadlocks if the ledger allowed them)."""
    ledger = Ledger(url, migrate=False)
    ledger.balance("alloc:A")
    _wait_for_go(Path(sync_dir) / f"ready-{proc}", Path(sync_dir) / "go")
    accounts = ["alloc:A", "alloc:B"] if proc % 2 else ["alloc:B", "alloc:A"]
    recorded = refused = 0
    for i in range(n):
        dec = {
            "id": f"p{proc}-{i}",
            "outcome": "LICENSE_EXCEPTION",
            "rules": ["740.29(a)"],
            "posture": "codified",
            "rule_set": "test",
            "date": "2025-06-01",
            "inputs": {"proc": proc, "i": i},
            "draws": [{"account": a, "amount": 1, "ref": f"p{proc}-{i}"} for a in accounts],
        }
        try:
            record_decisions(ledger, [dec], actor=f"proc-{proc}")
            recorded += 1
        except DrawRefused:
            refused += 1
    ledger.close()
    sys.stdout.write(json.dumps({"recorded": recorded, "refused": refused}))


def crash(url: str, account: str, n: int, kill_after_statements: int) -> None:
    """Record one batch of n decisions; pause inside the transaction to be SIGKILLed."""
    from sqlalchemy import event

    ledger = Ledger(url, migrate=False)
    count = 0

    @event.listens_for(ledger.engine, "after_cursor_execute")
    def _pause(*_args):
        nonlocal count
        count += 1
        if count == kill_after_statements:
            sys.stdout.write(f"MID {os.getpid()}\n")
            sys.stdout.flush()
            time.sleep(120)

    batch = [
        {
            "id": f"crash-{i}",
            "outcome": "LICENSE_REQUIRED" if i % 3 == 0 else "LICENSE_EXCEPTION",
            "rules": ["740.29(a)"],
            "posture": "codified",
            "rule_set": "test",
            "date": "2025-06-01",
            "inputs": {"i": i},
            "draws": [{"account": account, "amount": 1, "ref": f"crash-{i}"}],
        }
        for i in range(n)
    ]
    record_decisions(ledger, batch, actor="crasher")
    sys.stdout.write("DONE\n")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "draws":
        url, account, proc, n, shared, sync_dir = args
        draws(url, account, int(proc), int(n), int(shared), sync_dir)
    elif mode == "record":
        url, proc, n, sync_dir = args
        record(url, int(proc), int(n), sync_dir)
    elif mode == "crash":
        url, account, n, after = args
        crash(url, account, int(n), int(after))
    else:
        raise SystemExit(f"unknown mode {mode}")
