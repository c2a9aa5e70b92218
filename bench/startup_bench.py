"""Benchmark: start-up. Wall time of `aiexport --version`, `aiexport --help` and a one-transaction
`check`, median of several runs, next to `python -c pass` (the floor) and, as the baseline of
the eager CLI before issue 11, the import of every command module at start-up. Also which heavy
libraries each command imports. Writes docs/performance.md."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine, write_section  # noqa: E402

PY = sys.executable
AIEXPORT = str(Path(PY).with_name("aiexport"))
ONE = """id,date,kind,from,to,chip,quantity,consignee_name,consignee_country
ORD-1,2025-06-02,export,US,IN,H100 SXM,100,Mumbai AI Labs Pvt Ltd,IN
"""
HEAVY = ("polars", "pydantic", "sqlalchemy", "dask", "duckdb")
PROBE = (
    "import sys, runpy\n"
    "sys.argv = ['aiexport', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('aiexport', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print(' '.join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
)


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def heavy(args: list[str]) -> str:
    done = subprocess.run([PY, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main(runs: int = 7) -> None:
    from aiexport.cli import COMMANDS

    with tempfile.TemporaryDirectory() as d:
        one = Path(d) / "one.csv"
        one.write_text(ONE)
        eager = "import " + ", ".join(sorted(set(COMMANDS.values())))
        rows = [
            ("`python -c pass` (floor)", [PY, "-c", "pass"], None),
            ("**baseline**: import every command module (the eager CLI before issue 11)", [PY, "-c", eager], None),
            ("`aiexport --version`", [AIEXPORT, "--version"], ["--version"]),
            ("`aiexport --help`", [AIEXPORT, "--help"], ["--help"]),
            ("`aiexport check one.csv --format json` (one transaction)", [AIEXPORT, "check", str(one), "--format", "json"],
             ["check", str(one), "--format", "json"]),
        ]
        lines = []
        for label, cmd, args in rows:
            t = wall(cmd, runs)
            libs = heavy(args) if args else ""
            lines.append(f"| {label} | {t:.2f} s | {libs or '—'} |")
            print(lines[-1], flush=True)
    body = f"""
Machine: {machine()}. Script: `bench/startup_bench.py`. Median wall time of {runs} runs of a fresh
process (the machine is shared: compare rows of the same run, not runs). Load average at the end: {__import__("os").getloadavg()[0]:.1f} on 2 cores.

| command | wall time | heavy libraries imported |
|---|---:|---|
{chr(10).join(lines)}

The CLI registers commands through a table (`aiexport.cli.COMMANDS`) and imports a command's
module only when that command runs (`--help` lists them from a summary table, `aiexport.cli.SUMMARIES`,
which a test holds equal to each command's own help). `--version` and `--help` import neither Polars,
Pydantic nor SQLAlchemy. `check` still imports SQLAlchemy when it looks up the loaded
restricted-party lists (`aiexport.screening.store`), which reads them from the ledger database.
"""
    write_section("Start-up", body)
    print(body)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
