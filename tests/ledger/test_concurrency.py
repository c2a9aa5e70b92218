"""Many processes drawing from one limit never overshoot it; a SIGKILL mid-batch leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from aiexport.ledger import record_decisions
from aiexport.ledger.models import AuditRecord, Decision, Entry, Hold
from tests.ledger.helpers import decision

WORKER = Path(__file__).with_name("_worker.py")
PROCS, DRAWS, SHARED, LIMIT = 8, 200, 20, 1000


def _env() -> dict:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root), env.get("PYTHONPATH", "")])
    return env


def _start(tmp_path, n_procs: int, args) -> list[dict]:
    """Start n_procs workers, release them together, return their JSON outputs."""
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *args(i), str(sync)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for i in range(n_procs)
    ]
    deadline = time.monotonic() + 120
    while len(list(sync.glob("ready-*"))) < n_procs:
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), [
            p.communicate()[1] for p in procs if p.poll() is not None
        ]
        time.sleep(0.02)
    (sync / "go").touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_concurrent_draws_never_overshoot_and_never_double_count(ledger, db_url, tmp_path):
    acct = "allocation:IN:2025-2027"
    ledger.open_account(acct, LIMIT, kind="allocation")
    results = _start(
        tmp_path, PROCS, lambda i: ["draws", db_url, acct, str(i), str(DRAWS), str(SHARED)]
    )
    statuses = Counter(s for r in results for outcomes in r.values() for s in outcomes)
    attempts = sum(len(o) for r in results for o in r.values())
    assert attempts == PROCS * (DRAWS + (DRAWS - SHARED) // 10)
    # exactly what the limit allows: 1460 distinct refs of 1 TPP compete for 1000
    assert statuses["drawn"] == LIMIT
    assert statuses["drawn"] + statuses["already_drawn"] + statuses["refused"] == attempts
    b = ledger.balance("allocation:IN:2025-2027")
    assert (b.drawn, b.remaining) == (Decimal(LIMIT), Decimal(0))

    drawn_refs = Counter(ref for r in results for ref, o in r.items() if "drawn" in o)
    assert all(n == 1 for n in drawn_refs.values()), "a reference was drawn twice"
    for k in range(SHARED):
        per_proc = [r[f"shared-{k}"] for r in results]
        assert sum(o == ["drawn"] for o in per_proc) == 1
        assert sum(o == ["already_drawn"] for o in per_proc) == PROCS - 1
    for r in results:
        for ref, o in r.items():
            if len(o) == 2:  # a retry repeats the first answer, never draws again
                assert o[1] == ("already_drawn" if o[0] == "drawn" else "refused"), (ref, o)

    with ledger.transaction() as s:
        entries = s.execute(select(Entry.ref)).scalars().all()
        audit = s.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    assert sorted(entries) == sorted(drawn_refs)
    assert audit == 1 + LIMIT
    v = ledger.verify()
    assert v.ok, v.problems


def test_concurrent_batches_over_two_accounts_stay_atomic(ledger, db_url, tmp_path):
    """Batches drawing from two accounts, locked in opposite orders by different processes:
    no deadlock, and since a batch is all or nothing, both accounts end with the same drawn."""
    ledger.open_account("alloc:A", 150, kind="allocation")
    ledger.open_account("alloc:B", 1000, kind="allocation")
    results = _start(tmp_path, 4, lambda i: ["record", db_url, str(i), "60"])
    recorded = sum(r["recorded"] for r in results)
    assert recorded == 150
    assert sum(r["refused"] for r in results) == 4 * 60 - 150
    assert ledger.consumed("alloc:A") == ledger.consumed("alloc:B") == Decimal(150)
    with ledger.transaction() as s:
        assert s.execute(select(func.count()).select_from(Decision)).scalar_one() == 150
    assert ledger.verify().ok


def test_sigkill_mid_batch_leaves_no_partial_entries(ledger, db_url):
    acct = "lpp:ACME:2025"
    ledger.open_account(acct, 26_900_000, kind="quota")
    record_decisions(
        ledger, [decision(0, draws=[{"account": acct, "amount": 5, "ref": "before"}])], actor="a"
    )
    before = ledger.verify()
    assert before.ok
    p = subprocess.Popen(
        [sys.executable, str(WORKER), "crash", db_url, acct, "100", "150"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    line = p.stdout.readline()
    assert line.startswith("MID"), (line, p.stderr.read() if p.poll() is not None else "")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL

    # The killed transaction left nothing; its locks are gone (this write would wait otherwise).
    record_decisions(
        ledger, [decision(1, draws=[{"account": acct, "amount": 7, "ref": "after"}])], actor="a"
    )
    with ledger.transaction() as s:
        crashed = s.execute(
            select(func.count()).select_from(Decision).where(Decision.decision_id.like("crash-%"))
        ).scalar_one()
        entries = s.execute(select(Entry.ref).order_by(Entry.id)).scalars().all()
        holds = s.execute(select(func.count()).select_from(Hold)).scalar_one()
    assert crashed == 0 and holds == 0
    assert entries == ["before", "after"]
    assert ledger.consumed(acct) == Decimal(12)
    after = ledger.verify()
    assert after.ok, after.problems
    assert after.head_seq == before.head_seq + 2
