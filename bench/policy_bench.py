"""Benchmark: the policy lab. (1) `headroom` of the whole catalog with every candidate design
classified in one pass per date; baseline, in the same run: the same computation chip by chip (one
classifier per chip, as the first version did). (2) `whatif` of a one-change and a two-change
reform over a generated order book; baseline: one `check` of the same book (a what-if is at least
two). Results are asserted equal to their baselines. Writes docs/performance.md."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_bench import generate  # noqa: E402
from report import machine, write_section  # noqa: E402

from aiexport.commands.check import run_check  # noqa: E402
from aiexport.commands.headroom import catalog_rows, headroom_rows  # noqa: E402
from aiexport.commands.whatif import whatif  # noqa: E402
from aiexport.engine.reforms import load_reform  # noqa: E402

DAY = dt.date(2026, 12, 1)


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(orders: int = 2000) -> None:
    rows, schema = catalog_rows([], None)
    t_batch, batched = best(lambda: headroom_rows(rows, schema, DAY))
    t_single, single = best(lambda: [headroom_rows([r], schema, DAY)[0] for r in rows], repeat=1)
    assert batched == single, "batched headroom differs from chip-by-chip headroom"

    raw = generate(orders)
    with tempfile.TemporaryDirectory() as d:
        book = Path(d) / "orders.json"  # JSON: the YAML reader would dominate both sides
        book.write_text(json.dumps([{**t, "date": t["date"].isoformat()} for t in raw]))
        t_check, _ = best(lambda: run_check(book, None, "enforced"), repeat=2)
        one = load_reform("diffusion-enforced")
        two = load_reform("tpp-2400")
        t_one, res_one = best(lambda: whatif(one, on=DAY, posture="enforced", chips=False, models=False, orders=book), repeat=2)
        t_two, res_two = best(lambda: whatif(two, on=DAY, posture="enforced", chips=False, models=False, orders=book), repeat=2)
    body = f"""
Machine: {machine()}. `python bench/policy_bench.py`; best of a few runs; results asserted equal to the baseline.

| what | aiexport | baseline (same run) | |
|---|---:|---:|---|
| `headroom` of the catalog ({len(rows)} parts, 3 rule versions, every line tried on and just below) | {t_batch:.2f} s | {t_single:.2f} s chip by chip | {t_single / t_batch:.1f}× |
| `whatif diffusion-enforced` over {orders:,} generated order lines (1 change) | {t_one:.2f} s | {t_check:.2f} s for one `check` of the file | {t_one / t_check:.1f}× one check |
| `whatif tpp-2400` over the same lines (2 changes: each also run alone to attribute flips) | {t_two:.2f} s | {t_check:.2f} s for one `check` of the file | {t_two / t_check:.1f}× one check |

Flipped lines: {res_one['orders']['flipped']:,} and {res_two['orders']['flipped']:,} of {orders:,}. A what-if reads and validates the
order file once, then decides it once per store it runs: the baseline, the reform, and each change
alone when there are two or more (to attribute every flip to the change that causes it).
"""
    write_section("Policy lab (`aiexport whatif`, `aiexport headroom`)", body)
    print(body)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2000)
