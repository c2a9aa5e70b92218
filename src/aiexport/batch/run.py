"""`aiexport batch`: read an order book in chunks, decide each chunk, write Parquet or CSV.

One function decides a chunk (`aiexport.batch.core.decide_chunk`); this module feeds it chunks
from one process (`run`) and `aiexport.batch.cluster` feeds it partitions on Dask workers. Both
write one part file per chunk and gather the counts, so their outputs are the same rows with the
same values.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import polars as pl

from aiexport.batch.core import OUTPUT_SCHEMA, decide_chunk
from aiexport.batch.validate import REJECT_SCHEMA, unknown_columns
from aiexport.errors import InputError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}
DEFAULT_CHUNK = 250_000


@dataclass
class Summary:
    rows_in: int = 0
    decided: int = 0
    rejected: int = 0  # rows (a row with two bad fields counts once)
    per_row: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    party_hits: int = 0  # lines whose parties matched a restricted-party list entry
    screening: dict[str, str] = field(default_factory=dict)  # status -> list versions, or why not screened

    def add(self, other: Summary) -> None:
        self.rows_in += other.rows_in
        self.decided += other.decided
        self.rejected += other.rejected
        self.per_row += other.per_row
        self.party_hits += other.party_hits
        for k, v in other.screening.items():
            self.screening.setdefault(k, v)
        for k, v in other.outcomes.items():
            self.outcomes[k] = self.outcomes.get(k, 0) + v

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.decided + self.rejected


def input_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(str(path), None, None, "an order book: .csv, .parquet, .jsonl/.ndjson or .xlsx", path.suffix or path.name)
    if not path.exists():
        raise InputError(str(path), None, None, "an existing file", "no such file")
    return fmt


def _flatten_json(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Nested JSON Lines (as the YAML/JSON of `check`) to the flat columns."""
    schema = lf.collect_schema()
    exprs: list[pl.Expr] = []
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Struct) and name in ("consignee", "end_user"):
            exprs += [pl.col(name).struct.field(f.name).alias(f"{name}_{f.name}") for f in dtype.fields]
        elif isinstance(dtype, pl.Struct) and name == "facts":
            exprs += [pl.col(name).struct.field(f.name).alias(f"fact_{f.name}") for f in dtype.fields]
        elif isinstance(dtype, pl.Struct | pl.List):
            exprs.append(pl.struct(pl.col(name)).struct.json_encode().str.extract(r'^\{"[^"]*":(.*)\}$', 1).alias(name))
        else:
            exprs.append(pl.col(name))
    return lf.select(exprs)


def scan(path: Path) -> pl.LazyFrame:
    """The order book as string columns plus a 1-based ``row`` (the row numbers of `check`)."""
    fmt = input_format(path)
    try:
        if fmt == "csv":
            lf = pl.scan_csv(path, infer_schema=False)
        elif fmt == "parquet":
            lf = pl.scan_parquet(path)
        elif fmt == "jsonl":
            # the item stays JSON text (as in the CSV item column); parties and facts become flat columns
            lf = _flatten_json(pl.scan_ndjson(path, infer_schema_length=10_000, schema_overrides={"item": pl.String}))
        else:
            # typed cells (a date cell, a number cell) are turned into text below, as a CSV would have them
            lf = pl.read_excel(path, engine="calamine").lazy()
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputError(str(path), None, None, f"a readable {fmt} file", str(exc).splitlines()[0][:200]) from None
    casts = [_as_text(c, dtype).alias(c) for c, dtype in schema.items()]
    return lf.select(casts).with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))


def _as_text(c: str, dtype) -> pl.Expr:
    """A typed cell as the text a CSV would hold: a date as YYYY-MM-DD (a timestamp at midnight
    too), a whole float as an integer (spreadsheets store 512 as 512.0)."""
    col = pl.col(c)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        midnight = col.dt.time() == pl.time(0)
        return pl.when(midnight).then(col.dt.strftime("%Y-%m-%d")).otherwise(col.cast(pl.String))
    if dtype.is_float():
        whole = col.is_finite() & (col == col.round(0)) & (col.abs() < 2**53)
        return pl.when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(col.cast(pl.String))
    return col.cast(pl.String)


def check_columns(lf: pl.LazyFrame, path: Path, allow_extra: bool) -> list[str]:
    cols = lf.collect_schema().names()
    extra = unknown_columns(cols)
    if extra and not allow_extra:
        raise InputError(str(path), None, ", ".join(extra),
                         "the flat columns of `aiexport check` (id, date, kind, from, to, chip|item, quantity, consignee_*, end_user_*, fact_*); "
                         "pass --allow-extra-columns to carry other columns through unread", "unknown column(s)")
    return extra


def unreadable(path, exc: Exception) -> InputError:
    """A file Polars cannot read to the end (ragged lines, bytes that are not UTF-8, …): bad input
    naming the file (exit 2), not an internal error."""
    fmt = FORMATS.get(Path(str(path)).suffix.lower(), "order book")
    msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return InputError(str(path), None, None, f"a readable {fmt} file (UTF-8, every line with the header's columns)", msg)


def duplicates(lf: pl.LazyFrame, path: Path | None = None) -> tuple[int, dict[int, int]]:
    """(rows in the file, {row: first row with the same id}) — one pass over the id column."""
    try:
        if "id" not in lf.collect_schema().names():
            return lf.select(pl.len()).collect().item(), {}
        ids = lf.select("row", pl.col("id").str.strip_chars()).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(path or "order book", exc) from None
    # rows whose id's hash repeats (half the cost of comparing the strings of a whole book), then
    # the ids among them that do repeat: every repeated id is among them, a hash collision is not
    d = ids.filter(pl.col("id").is_not_null() & pl.col("id").hash().is_duplicated())
    d = d.filter(pl.col("id").is_duplicated())
    if d.height == 0:
        return ids.height, {}
    first = d.group_by("id").agg(pl.col("row").min().alias("first"))
    d = d.join(first, on="id").filter(pl.col("row") != pl.col("first"))
    return ids.height, dict(zip(d["row"].to_list(), d["first"].to_list(), strict=True))


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns as JSON arrays (as `check --format csv` writes them)."""
    return frame.with_columns(
        pl.struct(pl.col(c)).struct.json_encode().str.extract(r'^\{"[^"]*":(.*)\}$', 1).alias(c)
        for c, t in frame.schema.items() if isinstance(t, pl.List)
    )


def process(raw: pl.DataFrame, part: Path, *, posture: str, on: dt.date | None, source: str,
            dups: dict[int, int], extra: list[str], unscreened: str | None = None) -> tuple[Summary, pl.DataFrame]:
    """Decide one chunk and write its part file: the function every worker runs. ``unscreened``:
    why no party can be screened, asked once for the whole book (``decide_chunk``)."""
    if extra:
        raw = raw.drop(extra)
    res = decide_chunk(raw, posture=posture, on=on, source=source, duplicates=dups_in(raw, dups),
                       unscreened=unscreened)
    if part.suffix == ".csv":
        csv_ready(res.decided).write_csv(part)
    else:
        # an intermediate file, read once by ``finish``: lz4 and no statistics write faster
        res.decided.write_parquet(part, compression="lz4", statistics=False)
    outcomes = dict(res.decided["outcome"].value_counts().iter_rows())
    s = Summary(res.rows_in, res.decided.height, res.rejects["row"].n_unique(), res.per_row, outcomes,
                party_hits=res.party_hits,
                screening={res.screened: res.screening_note} if res.screened != "nothing" else {})
    return s, res.rejects


def chunks(lf: pl.LazyFrame, size: int, path: Path | None = None) -> Iterator[pl.DataFrame]:
    it = iter(lf.collect_batches(chunk_size=size))
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise unreadable(path or "order book", exc) from None
        yield raw


def finish(parts: list[Path], out: Path, rejects: list[pl.DataFrame], rejects_path: Path) -> None:
    """Gather the part files into OUT (streamed) and write the rejects file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        with out.open("wb") as fh:
            for i, p in enumerate(parts):
                data = p.read_bytes()
                if i:
                    data = data.split(b"\n", 1)[1] if b"\n" in data else b""
                fh.write(data)
        if not parts:
            csv_ready(pl.DataFrame(schema=OUTPUT_SCHEMA)).write_csv(out)
    elif parts:
        pl.scan_parquet(parts).sink_parquet(out)
    else:
        pl.DataFrame(schema=OUTPUT_SCHEMA).write_parquet(out)
    rej = pl.concat([pl.DataFrame(schema=REJECT_SCHEMA), *rejects]).sort("row", maintain_order=True)
    if rejects_path.suffix.lower() == ".parquet":
        rej.write_parquet(rejects_path)
    else:
        rej.write_csv(rejects_path)


def parts_dir(out: Path) -> Path:
    d = out.with_name(out.name + ".parts")
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def cores() -> int:
    """The CPU cores this process may run on (the default number of local processes)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run(path: Path, out: Path, *, posture: str = "enforced", on: dt.date | None = None,
        rejects_path: Path | None = None, chunk_size: int = DEFAULT_CHUNK, allow_extra: bool = False,
        progress: Callable[[int, int], None] | None = None, jobs: int = 1) -> Summary:
    """Decide a whole order book on this machine, chunk by chunk (bounded memory).

    ``jobs``: processes deciding chunks at once. With more than one (and more than one chunk),
    this process reads the chunks and a pool of ``jobs`` fresh processes decides them, each
    running ``process`` as a Dask worker would; the parts and the counts are the same."""
    from concurrent.futures import ThreadPoolExecutor

    from aiexport.screening.determination import unscreened

    t0 = time.perf_counter()
    lf = scan(path)
    pool = None
    try:
        # whether any restricted-party list is loaded (a database query, and SQLAlchemy's import)
        # is asked while Polars reads the ids
        with ThreadPoolExecutor(1) as ask:
            lists = ask.submit(unscreened)
            extra = check_columns(lf, path, allow_extra)
            # a book of more than a chunk or so: the pool's processes start (and import) while
            # this one reads the ids and the first chunk
            pool = _pool(jobs, posture) if jobs > 1 and path.stat().st_size > WARM_FROM else None
            total, dups = duplicates(lf, path)
            reason = lists.result()
        rejects_path = rejects_path or default_rejects(out)
        tmp = parts_dir(out)
        summary, parts, rejects = Summary(), [], []
        ext = ".csv" if out.suffix.lower() == ".csv" else ".parquet"
        jobs = max(1, min(jobs, -(-total // chunk_size)))

        def done(s: Summary, rej: pl.DataFrame) -> None:
            summary.add(s)
            if rej.height:
                rejects.append(rej)
            if progress:
                progress(summary.rows_in, total)

        # read lazily, a chunk at a time (a list would hold the whole book)
        work = ((raw, tmp / f"part-{k:05d}{ext}") for k, raw in enumerate(chunks(lf, chunk_size, path)))
        kwargs = {"posture": posture, "on": on, "source": str(path), "extra": extra, "unscreened": reason}
        try:
            if jobs == 1:
                for raw, part in work:
                    parts.append(part)
                    done(*process(raw, part, dups=dups, **kwargs))
            else:
                _in_pool(pool or _pool(jobs, posture), work, jobs, dups, kwargs, parts, done)
            finish(parts, out, rejects, rejects_path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException as exc:
        if pool is not None:  # started early, and perhaps never given a chunk
            _abandon(pool, exc)
        raise
    if pool is not None:  # (already shut down, unless the book turned out to be one chunk)
        pool.shutdown(wait=False, cancel_futures=True)
    summary.seconds = time.perf_counter() - t0
    return summary


WARM_FROM = 16 * 2**20  # bytes: a 250,000-line CSV is ~30 MiB


def _warm(posture: str = "enforced") -> None:
    """In a pool's process, before its first chunk (while this process reads the ids): import what
    deciding a chunk imports, and build the plans of the licence and reach rules of every epoch
    (one per set of parameter versions a stage reads). A book that meets fewer epochs leaves some
    unused. Also the names of the facts the rules read, which validating a chunk asks for (found by
    reading the law package's source: 0.1-0.4 CPU-s)."""
    from aiexport.batch import core  # noqa: F401
    from aiexport.engine.params import default_store
    from aiexport.io.names import known_facts
    from aiexport.law import license, overlays, reach, reach_step  # noqa: F401
    from aiexport.screening import determination  # noqa: F401

    known_facts()
    store = default_store()
    license.build_plans(posture, store)  # (built once per set of parameter versions read: engine.plan.by_versions)
    since = reach_step.first_day()
    for day in store.boundaries(posture):
        if day >= since:  # not the subject stage: its plan depends on which reach facts the book states
            # a chunk has the datacenter reading
            for build in reach._stages(store.snapshot(day, posture), ["datacenter"], None)[1:]:
                build()


def _pool(jobs: int, posture: str = "enforced"):
    """``jobs`` fresh processes (spawned: Polars' threads do not survive a fork), each warming up."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from aiexport import tune_allocator

    tune_allocator()  # the pool's processes inherit it
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"))
    try:
        for _ in range(jobs):
            pool.submit(_warm, posture)  # (each submit starts a process)
    except BaseException as exc:
        _abandon(pool, exc)
    return pool


def _abandon(pool, exc: BaseException) -> NoReturn:
    """End ``pool`` after ``exc``, killing its processes rather than waiting for them, and raise:
    ``BrokenProcessPool`` when a process of the pool had died, whatever ``exc`` the death led to.

    ``shutdown(wait=True)`` alone is not enough. When a process dies while the next is being
    started (seen with Python 3.11), the pool marks itself broken and stops the processes it knows.
    The one being started then either fails to start ('OSError: handle is closed', from a queue the
    pool closed) or starts unknown to that stop, and the pool's thread waits for it for ever."""
    from concurrent.futures.process import BrokenProcessPool

    broken = getattr(pool, "_broken", False)  # (the executor's own flag: no public way to ask)
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.kill()  # (a dead one ignores it)
    pool.shutdown(wait=True, cancel_futures=True)  # returns: no process is left to wait for
    if broken and not isinstance(exc, BrokenProcessPool):
        raise BrokenProcessPool(broken) from exc
    raise exc


def dups_between(dups: dict[int, int], first: int, last: int) -> dict[int, int]:
    """The repeated ids ({row: first row}) among rows ``first`` to ``last`` (1-based, inclusive)."""
    return {r: f for r, f in dups.items() if first <= r <= last}


def dups_in(raw: pl.DataFrame, dups: dict[int, int]) -> dict[int, int]:
    """The repeated ids ({row: first row}) among the rows of a chunk."""
    if not dups or raw.height == 0:
        return {}
    return dups_between(dups, raw["row"][0], raw["row"][-1])


def hand_over(raw: pl.DataFrame, part: Path, dups: dict[int, int]) -> tuple[Path, dict[int, int]]:
    """A chunk for another process (the pool's, a Dask worker): written as a Parquet file beside
    its part, which ``process_file`` reads (writing and reading one costs a fifth of pickling the
    frame through a pipe: a 250,000-line chunk 0.1 s, not 0.6 s), and its repeated ids."""
    given = part.with_name(part.stem + ".in.parquet")
    raw.write_parquet(given, compression="lz4", statistics=False)  # read once, whole: no statistics
    return given, dups_in(raw, dups)


def process_file(given: Path, part: Path, **kwargs) -> tuple[Summary, pl.DataFrame]:
    """``process`` on a chunk handed over as a file (removed once read)."""
    raw = pl.read_parquet(given)
    given.unlink()
    return process(raw, part, **kwargs)


def _in_pool(pool, work: Iterable[tuple[pl.DataFrame, Path]], jobs: int, dups: dict[int, int], kwargs: dict,
             parts: list[Path], done: Callable[[Summary, pl.DataFrame], None]) -> None:
    """``process`` on each chunk in ``pool``, each given only its own repeated ids. At most
    ``jobs`` + 1 chunks are in flight, so memory stays bounded: one read ahead, one in each
    process."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pending: set = set()

    def drain(limit: int) -> None:  # wait until at most `limit` chunks are in flight
        nonlocal pending
        while len(pending) > limit:
            finished, pending = wait(pending, timeout=1, return_when=FIRST_COMPLETED)
            if not finished and getattr(pool, "_broken", False):  # a chunk handed over as the pool
                raise BrokenProcessPool(pool._broken)  # broke may never be marked failed (Python 3.11)
            for f in finished:
                done(*f.result())

    try:
        for raw, part in work:
            parts.append(part)
            given, mine = hand_over(raw, part, dups)
            pending.add(pool.submit(process_file, given, part, dups=mine, **kwargs))
            drain(jobs)
        drain(0)
    except BaseException as exc:  # a bad chunk, a dead process, Ctrl-C: the others are not waited for
        _abandon(pool, exc)
    pool.shutdown(wait=True)


def default_rejects(out: Path) -> Path:
    return out.with_name(out.stem + ".rejects.csv")
