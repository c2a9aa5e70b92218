"""Benchmark: `check` over 100,000 generated transactions (both postures). Baseline, in the same
run: the same engine called one transaction at a time (a frame of one row per call), as an
integration that loops over orders would. Writes docs/performance.md."""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine, write_section  # noqa: E402

from aiexport.catalog import accelerators  # noqa: E402
from aiexport.io.transactions import parse  # noqa: E402
from aiexport.law.decide import decide, records  # noqa: E402

DESTS = ["CN", "HK", "MO", "VN", "SA", "AE", "IN", "SG", "MY", "IL", "DE", "JP", "GB", "RU", "KH", "BR", "US"]


def generate(n: int, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    chips = accelerators()["name"].to_list()
    start = dt.date(2022, 6, 1)
    out = []
    for i in range(n):
        to = rnd.choice(DESTS)
        parent = rnd.choice([to, to, to, "US", "CN", "IN"])
        t = {
            "id": f"T{i:07d}", "date": start + dt.timedelta(days=rnd.randrange(1640)),
            "kind": rnd.choice(["export", "export", "reexport"]), "from": rnd.choice(["US", "US", "SG", "TW"]),
            "to": to, "quantity": rnd.randrange(1, 3000),
            "consignee": {"name": f"Customer {rnd.randrange(5000)}", "country": to, "ultimate_parent_headquarters": parent},
            "facts": {"lpp_consumed_tpp": rnd.choice([0, 10_000_000, 26_000_000])},
        }
        if rnd.random() < 0.1:
            t["item"] = {"server": [{"chip": rnd.choice(chips), "count": 8}]}
        else:
            t["item"] = {"chip": rnd.choice(chips)}
        out.append(t)
    return out


def main(n: int = 100_000, n_baseline: int = 1_000) -> None:
    rows = generate(n)
    t0 = time.perf_counter()
    txs, errors, numbers = parse(rows, "generated")
    t_parse = time.perf_counter() - t0
    assert not errors
    timings = {}
    outcomes = {}
    for posture in ("enforced", "codified"):
        t0 = time.perf_counter()
        frame = decide(txs, posture=posture, rows=numbers)
        t_decide = time.perf_counter() - t0
        t0 = time.perf_counter()
        recs = records(frame)
        t_rec = time.perf_counter() - t0
        timings[posture] = (t_decide, t_rec)
        outcomes[posture] = frame["outcome"].value_counts().sort("outcome").rows()
        assert len(recs) == n
    t0 = time.perf_counter()
    one_by_one = [records(decide([t], posture="enforced"))[0]["outcome"] for t in txs[:n_baseline]]
    t_base = time.perf_counter() - t0
    batch = decide(txs[:n_baseline], posture="enforced")["outcome"].to_list()
    assert one_by_one == batch, "one-at-a-time and batch disagree"
    per_batch = (t_parse + sum(timings["enforced"])) / n
    per_base = t_base / n_baseline
    outcome_lines = "\n".join(
        f"| {p} | " + ", ".join(f"{o}: {c:,}" for o, c in outcomes[p]) + " |" for p in outcomes
    )
    body = f"""
Machine: {machine()}. Script: `bench/check_bench.py` (run by `make bench`). {n:,} generated
transactions: 67 catalog chips (10 % as 8-chip servers), 17 destinations, dates from 2022-06 to
2026-12 (so every rule version and many parameter epochs appear in one batch), mixed parties.

| stage | transactions | wall time | per transaction |
|---|---:|---:|---:|
| validate (Pydantic) | {n:,} | {t_parse:.2f} s | {t_parse / n * 1e6:.1f} µs |
| decide, enforced posture (classify items + license rules) | {n:,} | {timings['enforced'][0]:.2f} s | {timings['enforced'][0] / n * 1e6:.1f} µs |
| decide, codified posture | {n:,} | {timings['codified'][0]:.2f} s | {timings['codified'][0] / n * 1e6:.1f} µs |
| JSON records | {n:,} | {timings['enforced'][1]:.2f} s | {timings['enforced'][1] / n * 1e6:.1f} µs |
| **baseline**: the same engine, one transaction per call | {n_baseline:,} | {t_base:.2f} s | {per_base * 1e6:.0f} µs |

End to end (validate + decide + records), the batch costs **{per_batch * 1e6:.1f} µs per transaction**
({1 / per_batch:,.0f} transactions/s) — **{per_base / per_batch:.0f}×** cheaper than deciding one
transaction per call. The two paths agree on all {n_baseline:,} baseline transactions.

| posture | outcomes over the {n:,} transactions |
|---|---|
{outcome_lines}
"""
    write_section("License determination (`aiexport check`)", body)
    print(body)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
