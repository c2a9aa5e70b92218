"""`aiexport batch --scheduler tcp://HOST:PORT | --workers N`: the order book in partitions on a
Dask cluster. Every worker runs the function the single process runs (`run.process`) on its
partition and writes its own part file; the client gathers the counts and the rejects and joins
the parts into OUT. Input, output and the parts directory must be on storage every worker sees
(see docs/batch.md)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from aiexport.batch.run import (
    Summary,
    check_columns,
    chunks,
    duplicates,
    dups_between,
    finish,
    hand_over,
    input_format,
    parts_dir,
    process,
    process_file,
    scan,
    unreadable,
)


def partitions(total: int, size: int) -> list[tuple[int, int]]:
    """(offset, length) row ranges; for Parquet they fall on row groups when SIZE is a multiple."""
    return [(o, min(size, total - o)) for o in range(0, total, size)]


def work(path: str, offset: int, length: int, part: str, posture: str, on: dt.date | None,
         dups: dict[int, int], extra: list[str], unscreened: str | None = None) -> tuple[Summary, pl.DataFrame]:
    """One partition, on a worker: read its rows, decide them, write the part file."""
    try:
        raw = scan(Path(path)).slice(offset, length).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(path, exc) from None
    return process(raw, Path(part), posture=posture, on=on, source=path, dups=dups, extra=extra,
                   unscreened=unscreened)


def run_dask(path: Path, out: Path, *, posture: str = "enforced", on: dt.date | None = None,
             rejects_path: Path, chunk_size: int, allow_extra: bool = False, scheduler: str | None = None,
             workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> Summary:
    from dask.distributed import Client, LocalCluster, as_completed

    from aiexport.screening.determination import unscreened

    t0 = time.perf_counter()
    path, out = path.resolve(), out.resolve()
    lf = scan(path)
    extra = check_columns(lf, path, allow_extra)
    total, dups = duplicates(lf, path)
    tmp = parts_dir(out)
    ext = ".csv" if out.suffix.lower() == ".csv" else ".parquet"
    cluster = None
    if not scheduler:
        from aiexport import tune_allocator

        tune_allocator()  # the local workers inherit it
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures, parts = [], []
        # a local cluster shares this machine's database: whether any restricted-party list is
        # loaded is asked once here; a remote cluster's workers ask their own (they may see another)
        reason = None if scheduler else unscreened()
        kwargs = {"posture": posture, "on": on, "source": str(path), "extra": extra, "unscreened": reason}
        if input_format(path) == "parquet":  # each worker reads its own rows (row groups)
            for k, (offset, length) in enumerate(partitions(total, chunk_size)):
                part = tmp / f"part-{k:05d}{ext}"
                mine = dups_between(dups, offset + 1, offset + length)
                parts.append(part)
                futures.append(client.submit(work, str(path), offset, length, str(part), posture, on, mine, extra,
                                             reason, key=f"aiexport-batch-{k}-{time.time_ns()}"))
        else:
            # a CSV (JSON Lines, XLSX) has no row groups: a worker reading rows N.. would parse the
            # file from its start, so this process reads it once and hands each chunk over as a
            # Parquet file in the parts directory (on the shared storage)
            for k, raw in enumerate(chunks(lf, chunk_size, path)):
                part = tmp / f"part-{k:05d}{ext}"
                given, mine = hand_over(raw, part, dups)
                parts.append(part)
                futures.append(client.submit(process_file, given, part, dups=mine, **kwargs,
                                             key=f"aiexport-batch-{k}-{time.time_ns()}"))
        summary, rejects = Summary(), []
        for fut in as_completed(futures):
            s, rej = fut.result()
            summary.add(s)
            if rej.height:
                rejects.append(rej)
            if progress:
                progress(summary.rows_in, total)
        finish(parts, out, rejects, rejects_path)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    return summary
