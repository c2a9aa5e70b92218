"""Concurrent `check` requests decided together (the REST API under load).

A decision costs a fixed ~0.1 s per call (the engine plans its Polars queries once per call,
whatever the number of rows) and a few microseconds per row. A server answering one request per
call spends that fixed cost on every request; 100 clients then queue for seconds. The
`Coalescer` puts the requests that arrive while a decision is running into the next call: one
worker thread takes everything queued, decides it as one list of transactions with the same
function as `usecases.check` (`decide_checked`), and hands each request its own records.

It gives each request exactly what `usecases.check` gives it alone, because the rules decide each
row from that row alone — except in three cases, which are never coalesced:

* a transaction states a VEU authorization: VEU draws are sequenced across the orders of one
  call (`decisions.sequential_veu`), so unrelated requests must not see each other's;
* the ledger's LPP consumption is read (`check --record`, `POST /v1/record`): LPP is sequenced
  across one call too (this module only serves `POST /v1/check`, which does not record);
* anything goes wrong in a coalesced call (an overflowing total, an unreadable fact): every
  request of that call is decided again on its own, so each gets its own answer or error.

Requests are grouped by (posture, date, notices). The first request of a quiet server is decided
at once (the queue is empty), so coalescing adds no wait; under load (the last call served several
requests) the worker gathers for 5 ms before it decides, and a request waits at most for the call
before its own.
"""

from __future__ import annotations

import json
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

MAX_ROWS = 2_000  # transactions per coalesced call (a call of 2,000 rows still costs ~0.2 s)
LINGER = 0.005  # seconds a loaded server waits for the next requests before deciding


@dataclass
class _Job:
    req: object  # app.models.CheckRequest
    txs: list
    numbers: list[int]
    future: Future


class Coalescer:
    def __init__(self, on_record=None, max_rows: int = MAX_ROWS):
        self.on_record = on_record
        self.max_rows = max_rows
        self.jobs: queue.Queue[_Job] = queue.Queue()
        self.worker: threading.Thread | None = None
        self.lock = threading.Lock()
        self.calls = 0  # decisions made (one per coalesced call): for tests and the benchmark
        self.requests = 0

    # -- the request side (any thread)

    def check(self, req) -> list[dict]:
        """`usecases.check(req, on_record=...)`, decided with whatever else is queued."""
        from aiexport.app import usecases as uc

        txs, numbers = uc.parse_transactions(req.transactions)  # input errors at once, in this thread
        if any((t.facts or {}).get("veu_authorization") for t in txs):
            return uc.check(req, on_record=self.on_record)  # VEU draws are sequenced within one call
        job = _Job(req, txs, numbers, Future())
        self._ensure_worker()
        self.jobs.put(job)
        return job.future.result()

    def _ensure_worker(self) -> None:
        with self.lock:
            if self.worker is None or not self.worker.is_alive():
                self.worker = threading.Thread(target=self._run, name="aiexport-coalesce", daemon=True)
                self.worker.start()

    # -- the worker side (one thread)

    def _run(self) -> None:
        import time

        busy = False  # did the last call serve several requests (the server is under load)?
        while True:
            batch = [self.jobs.get()]
            rows = len(batch[0].txs)
            # Under load the clients answered by the last call send their next requests within a
            # few milliseconds of each other: wait that long for them, or the first would be decided
            # alone and the others would queue behind it. A quiet server never waits.
            until = time.monotonic() + (LINGER if busy else 0.0)
            while rows < self.max_rows:
                try:
                    left = until - time.monotonic()
                    nxt = self.jobs.get(timeout=left) if left > 0 else self.jobs.get_nowait()
                except queue.Empty:
                    break
                batch.append(nxt)
                rows += len(nxt.txs)
            busy = len(batch) > 1
            groups: dict[tuple, list[_Job]] = {}
            for j in batch:
                groups.setdefault((j.req.posture, j.req.on, tuple(j.req.notices or ())), []).append(j)
            for jobs in groups.values():
                self._decide(jobs)

    def _decide(self, jobs: list[_Job]) -> None:
        from aiexport.app.decisions import decide_checked
        from aiexport.app.usecases import SOURCE, _notices
        from aiexport.law.decide import records

        self.calls += 1
        self.requests += len(jobs)
        req = jobs[0].req
        txs = [t for j in jobs for t in j.txs]
        numbers = [n for j in jobs for n in j.numbers]
        if len(jobs) == 1:  # nothing to share: usecases.check itself
            self._alone(jobs[0])
            return
        try:
            frame = decide_checked(txs, numbers, SOURCE, req.on, req.posture, notices=_notices(req.notices),
                                   authorizations={}, veu_lookup=None)  # no VEU stated (see check)
            recs = json.loads(json.dumps(records(frame), default=str))
        except BaseException:  # noqa: BLE001 - each request again on its own: its own answer or error
            for j in jobs:
                self._alone(j)
            return
        k = 0
        for j in jobs:
            j.future.set_result(recs[k:k + len(j.txs)])
            k += len(j.txs)

    def _alone(self, job: _Job) -> None:
        from aiexport.app import usecases as uc

        try:
            job.future.set_result(uc.check(job.req, on_record=self.on_record))
        except BaseException as exc:  # noqa: BLE001 - delivered to the request's thread
            job.future.set_exception(exc)
