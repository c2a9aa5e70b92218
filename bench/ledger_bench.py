"""Ledger draw throughput: draws/s with 1 and 8 concurrent client processes, SQLite and
PostgreSQL, against a same-run baseline of naive single-row INSERTs (no lock, no balance
check, no audit chain). Writes the "## Ledger draws" section of docs/performance.md.

    .venv/bin/python bench/ledger_bench.py                       # SQLite only
    AIEXPORT_TEST_POSTGRES_URL="$(bash scripts/ci-postgres.sh)" .venv/bin/python bench/ledger_bench.py
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
ACCOUNT = "allocation:BENCH:2025-2027"


def _worker(kind: str, url: str, client: int, n: int, ready, go, out) -> None:
    if kind == "ledger":
        from aiexport.ledger import Ledger

        ledger = Ledger(url, migrate=False)
        ledger.balance(ACCOUNT)

        def one(i: int) -> None:
            ledger.draw(ACCOUNT, 1, f"c{client}-{i}", actor=f"bench-{client}")
    else:
        engine = create_engine(url)
        stmt = text("INSERT INTO bench_naive (account, amount, ref) VALUES (:a, :m, :r)")

        def one(i: int) -> None:
            with engine.begin() as conn:
                conn.execute(stmt, {"a": ACCOUNT, "m": 1, "r": f"c{client}-{i}"})

    one(-1)  # warm the connection and statement cache
    ready.release()
    go.wait()
    t0 = time.perf_counter()
    for i in range(n):
        one(i)
    out.put((client, time.perf_counter() - t0))


def _run(kind: str, url: str, clients: int, per_client: int) -> float:
    """Draws per second over all clients, from the start signal to the last client's finish."""
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(kind, url, c, per_client, ready, go, out))
        for c in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for _ in procs:
        out.get()
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"{kind} client failed")
    return clients * per_client / elapsed


def _prepare(url: str) -> None:
    from aiexport.ledger import Ledger

    ledger = Ledger(url)
    ledger.open_account(ACCOUNT, 10**11, kind="allocation")
    ledger.close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_naive (account VARCHAR(200), amount NUMERIC(38, 6), ref VARCHAR(200))"
            )
        )
    engine.dispose()


def bench_backend(name: str, url: str, n1: int, n8: int) -> list[dict]:
    _prepare(url)
    rows = []
    for clients, total in ((1, n1), (8, n8)):
        per = total // clients
        base = _run("naive", url, clients, per)
        led = _run("ledger", url, clients, per)
        rows.append(
            {"db": name, "clients": clients, "draws": per * clients, "ledger": led, "naive": base}
        )
        print(
            f"{name:10} {clients} client(s): ledger {led:8.0f} draws/s, naive insert {base:8.0f}/s, ratio {led / base:.2f}"
        )
    from aiexport.ledger import Ledger

    ledger = Ledger(url)
    assert ledger.verify().ok
    ledger.close()
    return rows


def _pg_schema_url(base: str) -> tuple[str, callable]:
    from aiexport.ledger.db import resolve_url

    base = resolve_url(base)
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def write_section(rows: list[dict], args) -> None:
    lines = [
        "## Ledger draws",
        "",
        "`bench/ledger_bench.py`: each client is a separate process drawing 1 TPP per call from one",
        "allocation account (`Ledger.draw`: lock the account row, check idempotency, validity and the",
        "derived balance, insert the entry, append to the hash chain, commit). The baseline, run in",
        "the same process tree against the same database, is a naive draw: one single-row `INSERT`",
        "per transaction, with no lock, no balance check and no audit chain.",
        "",
        "| database | clients | draws | ledger draws/s | naive inserts/s | ledger / naive |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['db']} | {r['clients']} | {r['draws']} | {r['ledger']:.0f} | {r['naive']:.0f} | {r['ledger'] / r['naive']:.2f} |"
        )
    lines += [
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} when written (other work shares the machine). "
        "SQLite: a WAL file on local disk, default synchronous=FULL, writers serialised by BEGIN IMMEDIATE. "
        "PostgreSQL: the loopback server from `scripts/ci-postgres.sh` (fsync off: a test server).",
        "",
        "Reading: a ledger draw runs eight statements in its transaction (begin, lock the account row,",
        "look up the reference, insert the entry, update the running total, lock the audit head, insert the",
        "audit link, update the head), where the baseline runs one insert; that is most of the ratio.",
        "They are SQLAlchemy Core statements compiled once and run on the driver's cursor",
        "(`aiexport/ledger/prepared.py`; through `Connection.execute` a draw cost about three times as much,",
        "through the ORM's unit of work six times). Goal (issue 11): at least 2,000 draws/s with one SQLite client: "
        + ("met" if any(r["db"] == "SQLite" and r["clients"] == 1 and r["ledger"] >= 2000 for r in rows) else "not met")
        + ".",
        "With `synchronous=FULL` each commit waits for its fsync (0.1-0.3 ms on this disk, which",
        "varies from hour to hour: the naive insert's own rate moves between about 2,000 and 5,500/s).",
        "Every draw appends to the one hash chain, so draws are serialised on the",
        "audit head row (and on SQLite on the database write lock) whatever the number of clients:",
        "more clients add lock waits, not throughput. On this 2-core machine the clients and the",
        "PostgreSQL server share the CPUs, so figures move by about 20% from run to run.",
        "",
    ]
    section = "\n".join(lines)
    text_ = DOC.read_text() if DOC.exists() else "# Performance\n"
    pattern = re.compile(r"^## Ledger draws\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text_):
        text_ = pattern.sub(lambda _m: section + "\n", text_).rstrip("\n") + "\n"
    else:
        text_ = text_.rstrip("\n") + "\n\n" + section
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text_)
    print(f"wrote {DOC.relative_to(ROOT)}")


def _seed(url: str, account: str, n: int) -> None:
    """An account with n prior entries, inserted in bulk (not through the chain: the latency
    accounts are never verified), and its running total set to match."""
    from aiexport.ledger import Ledger

    led = Ledger(url)
    led.open_account(account, 10**11, kind="allocation")
    led.close()
    engine = create_engine(url if "sqlite" in url else _pg_url(url))
    sqlite = engine.dialect.name == "sqlite"
    amount = 1_000_000 if sqlite else 1  # SQLite stores micro-units
    with engine.begin() as conn:
        aid = conn.execute(text("SELECT id FROM ledger_accounts WHERE name = :n"), {"n": account}).scalar_one()
        if sqlite:
            conn.execute(text(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) "
                "INSERT INTO ledger_entries (account_id, kind, amount, ref, actor, created_at) "
                "SELECT :a, 'draw', :m, 'seed-' || x, 'seed', '2025-01-01T00:00:00.000000Z' FROM c"),
                {"n": n, "a": aid, "m": amount})
        else:
            conn.execute(text(
                "INSERT INTO ledger_entries (account_id, kind, amount, ref, actor, created_at) "
                "SELECT :a, 'draw', :m, 'seed-' || x, 'seed', '2025-01-01T00:00:00.000000Z' "
                "FROM generate_series(1, :n) AS x"), {"n": n, "a": aid, "m": amount})
        conn.execute(text("UPDATE ledger_accounts SET drawn = :d WHERE id = :a"), {"d": amount * n, "a": aid})
        if not sqlite:
            conn.execute(text("ANALYZE ledger_entries"))
    engine.dispose()


def _pg_url(url: str) -> str:
    from aiexport.ledger.db import resolve_url

    return resolve_url(url)


def bench_latency(name: str, url: str, sizes: list[int], draws: int) -> list[dict]:
    """Median latency of one draw on an account with N prior entries; the baseline is the query
    every draw ran before the running total (the sum of the account's entries), same database."""
    import statistics

    from aiexport.ledger import Ledger

    rows = []
    for n in sizes:
        account = f"latency:{n}"
        _seed(url, account, n)
        led = Ledger(url, migrate=False)
        led.draw(account, 1, "warm")
        times = []
        for i in range(draws):
            t0 = time.perf_counter()
            led.draw(account, 1, f"lat-{i}")
            times.append(time.perf_counter() - t0)
        engine = led.engine
        sums = []
        with engine.connect() as conn:
            aid = conn.execute(text("SELECT id FROM ledger_accounts WHERE name = :n"), {"n": account}).scalar_one()
            for _ in range(max(5, draws // 10)):
                t0 = time.perf_counter()
                conn.execute(text("SELECT SUM(amount) FROM ledger_entries WHERE account_id = :a"), {"a": aid}).scalar()
                sums.append(time.perf_counter() - t0)
        assert led.balance(account).drawn == n + draws + 1
        led.close()
        row = {"db": name, "prior": n, "draw_ms": statistics.median(times) * 1000,
               "p90_ms": statistics.quantiles(times, n=10)[-1] * 1000, "sum_ms": statistics.median(sums) * 1000}
        rows.append(row)
        print(f"{name:10} {n:>9,} prior entries: draw median {row['draw_ms']:.2f} ms (p90 {row['p90_ms']:.2f}), "
              f"sum of history (old draw's balance query) {row['sum_ms']:.2f} ms")
    return rows


def write_latency_section(rows: list[dict], draws: int) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from report import write_section

    lines = [
        f"`bench/ledger_bench.py`: median (and 90th percentile) latency of one `Ledger.draw`, {draws} draws in a row by",
        "one client, on an account that already has N entries. A draw reads the account's running total from",
        "the row it locks (migration 0003), so its cost does not depend on the history. The baseline, timed in",
        "the same run on the same account, is the query every draw ran before: the sum of the account's entries.",
        "",
        "| database | prior entries | draw median ms | draw p90 ms | baseline: sum of the history, ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['db']} | {r['prior']:,} | {r['draw_ms']:.2f} | {r['p90_ms']:.2f} | {r['sum_ms']:.2f} |")
    lines += [
        "",
        f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} when written (shared with other work:"
        " figures move from run to run, the comparison within a run holds);"
        " SQLite synchronous=FULL (each commit is fsynced). `audit verify` checks every running total against",
        "its entries.",
    ]
    write_section("Ledger draw latency and history size", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws-1", type=int, default=3000, help="draws with one client")
    ap.add_argument("--draws-8", type=int, default=3000, help="draws over eight clients")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    ap.add_argument("--latency-sizes", default="10,10000,1000000",
                    help="prior entries in the account for the latency runs (comma-separated)")
    ap.add_argument("--latency-draws", type=int, default=200, help="draws timed per size")
    ap.add_argument("--latency-only", action="store_true", help="skip the throughput runs")
    args = ap.parse_args()
    sizes = [int(x) for x in args.latency_sizes.split(",") if x.strip()]
    lat: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        lat += bench_latency("SQLite", f"sqlite:///{tmp}/latency.db", sizes, args.latency_draws)
    pg_ = os.environ.get("AIEXPORT_TEST_POSTGRES_URL") or os.environ.get("AIEXPORT_BENCH_POSTGRES_URL")
    if pg_:
        url, drop = _pg_schema_url(pg_)
        try:
            lat += bench_latency("PostgreSQL", url, sizes, args.latency_draws)
        finally:
            drop()
    if not args.no_write:
        write_latency_section(lat, args.latency_draws)
    if args.latency_only:
        return
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_backend("SQLite", f"sqlite:///{tmp}/bench.db", args.draws_1, args.draws_8)
    pg = os.environ.get("AIEXPORT_TEST_POSTGRES_URL") or os.environ.get(
        "AIEXPORT_BENCH_POSTGRES_URL"
    )
    if pg:
        url, drop = _pg_schema_url(pg)
        try:
            rows += bench_backend("PostgreSQL", url, args.draws_1, args.draws_8)
        finally:
            drop()
    else:
        print("PostgreSQL skipped: set AIEXPORT_TEST_POSTGRES_URL (bash scripts/ci-postgres.sh)")
    if not args.no_write:
        write_section(rows, args)


if __name__ == "__main__":
    main()
