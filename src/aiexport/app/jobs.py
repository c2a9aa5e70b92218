"""Batch jobs for the API and the web: an uploaded order book decided in a background thread
by `aiexport.batch.run` (the same code as `aiexport batch`), with progress, results and rejects."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiexport.app.errors import NotFound
from aiexport.auth.service import Actor
from aiexport.errors import InputError, InputErrors

SUFFIXES = (".csv", ".parquet", ".jsonl", ".xlsx")


@dataclass
class Job:
    id: str
    owner: str
    filename: str
    posture: str
    on: str | None
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    total: int | None = None
    summary: dict | None = None
    errors: list[dict] = field(default_factory=list)
    created_at: str = ""
    out: Path | None = None
    rejects: Path | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "owner": self.owner, "filename": self.filename, "posture": self.posture, "on": self.on,
                "status": self.status, "done": self.done, "total": self.total, "summary": self.summary,
                "errors": self.errors, "created_at": self.created_at,
                "results": f"/v1/batch/{self.id}/results" if self.status == "done" else None,
                "rejects": f"/v1/batch/{self.id}/rejects" if self.status == "done" else None}


class Jobs:
    def __init__(self, root: Path):
        self.root = root
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiexport-batch")

    def submit(self, actor: Actor, filename: str, data: bytes, posture: str, on: dt.date | None) -> Job:
        actor.require("analyst", "running a batch")
        suffix = Path(filename or "").suffix.lower()
        if suffix not in SUFFIXES:
            raise InputError(filename or "upload", None, "file", "an order book ending in " + ", ".join(SUFFIXES), filename)
        jid = uuid.uuid4().hex[:12]
        d = self.root / jid
        d.mkdir(parents=True)
        src = d / f"orders{suffix}"
        src.write_bytes(data)
        job = Job(jid, actor.name, Path(filename).name, posture, on.isoformat() if on else None,
                  created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  out=d / "decisions.csv", rejects=d / "rejects.csv")
        with self.lock:
            self.jobs[jid] = job
        self.pool.submit(self._run, job, src, on)
        return job

    def _run(self, job: Job, src: Path, on: dt.date | None) -> None:
        from aiexport.batch.run import run

        job.status = "running"

        def tick(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            s = run(src, job.out, posture=job.posture, on=on, rejects_path=job.rejects, progress=tick)
            job.summary = {"rows_in": s.rows_in, "decided": s.decided, "rejected": s.rejected, "outcomes": s.outcomes,
                           "seconds": round(s.seconds, 3), "party_hits": s.party_hits,
                           # "screened": the list versions; "not_screened": why the parties were not screened
                           "screening": s.screening}
            job.done = job.total = s.rows_in
            if not job.rejects.exists():
                job.rejects.write_text("row,field,expected,got\n", encoding="utf-8")
            job.status = "done"
        except InputErrors as exc:
            job.errors, job.status = [e.as_dict() for e in exc.errors], "failed"
        except InputError as exc:
            job.errors, job.status = [exc.as_dict()], "failed"
        except Exception as exc:  # noqa: BLE001 - reported on the job, never lost
            job.errors, job.status = [{"expected": "a file the batch can read", "got": f"{type(exc).__name__}: {exc}"}], "failed"

    def get(self, jid: str) -> Job:
        job = self.jobs.get(jid)
        if job is None:
            raise NotFound(f"no batch job {jid!r}", field="job_id")
        return job

    def list(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)
