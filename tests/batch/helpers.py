"""A generated order book (flat CSV columns of `check`) and the comparison of `batch` with `check`."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import polars as pl

from aiexport.catalog import accelerators
from aiexport.io.transactions import load_rows, parse
from aiexport.law.decide import decide, records

DESTS = ["CN", "HK", "MO", "VN", "SA", "AE", "IN", "SG", "MY", "IL", "DE", "JP", "GB", "RU", "KH", "BR", "US", "TW"]
CONTRACT = ["id", "date", "outcome", "eccn", "paragraph", "item", "quantity", "total_tpp", "from", "to",
            "license_exception", "review_policy", "obligations", "needs_facts", "rules", "posture", "rule_set"]


def generate(n: int, seed: int = 1) -> pl.DataFrame:
    """n flat rows: catalog chips and 8-chip servers, 18 destinations, 2022-06..2026-12, mixed parties and facts."""
    rnd = random.Random(seed)
    chips = accelerators()["name"].to_list()
    start = dt.date(2022, 6, 1)
    rows = []
    for i in range(n):
        to = rnd.choice(DESTS)
        server = rnd.random() < 0.1
        chip = rnd.choice(chips)
        rows.append({
            "id": f"T{i:07d}", "date": (start + dt.timedelta(days=rnd.randrange(1640))).isoformat(),
            "kind": rnd.choice(["export", "export", "reexport", "transfer"]), "from": rnd.choice(["US", "US", "SG", "TW"]),
            "to": to, "chip": "" if server else chip,
            "item": json.dumps({"server": [{"chip": chip, "count": 8}]}) if server else "",
            "quantity": str(rnd.randrange(1, 3000)),
            "consignee_name": f"Customer {rnd.randrange(5000)}", "consignee_country": to,
            "consignee_headquarters": rnd.choice(["", "", to, "CN", "US"]),
            "consignee_ultimate_parent_headquarters": rnd.choice(["", to, "US", "CN", "IN", "MO"]),
            "end_user_country": rnd.choice(["", "", "", to, "SG"]),
            "fact_lpp_consumed_tpp": rnd.choice(["", "0", "10000000", "26000000"]),
            "fact_purpose": rnd.choice(["", "", "development", "deployment"]),
            "fact_approved_or_authorized_designer": rnd.choice(["", "yes", "no"]),
            "fact_nac_notified_on": rnd.choice(["", "", "2024-05-20"]),
        })
    return pl.DataFrame(rows)


def check_records(path: Path, posture: str, on: dt.date | None = None) -> pl.DataFrame:
    """What `aiexport check --format json` gives, as a frame keyed by id."""
    txs, errors, numbers = parse(load_rows(path), str(path))
    assert not errors, errors[:3]
    recs = records(decide(txs, posture=posture, on=on, source=str(path), rows=numbers))
    for r in recs:
        r["needs_facts"] = [f["fact"] for f in r["needs_facts"]]
        r["date"] = dt.date.fromisoformat(r["date"])
        r["total_tpp"] = None if r["total_tpp"] is None else float(r["total_tpp"])
    schema = {"id": pl.String, "date": pl.Date, "outcome": pl.String, "eccn": pl.String, "paragraph": pl.String,
              "item": pl.String, "quantity": pl.Int64, "total_tpp": pl.Float64, "from": pl.String, "to": pl.String,
              "license_exception": pl.String, "review_policy": pl.String, "obligations": pl.List(pl.String),
              "needs_facts": pl.List(pl.String), "rules": pl.List(pl.String), "posture": pl.String, "rule_set": pl.String}
    return pl.DataFrame([{k: r[k] for k in CONTRACT} for r in recs], schema=schema, orient="row")


def differences(batch: pl.DataFrame, check: pl.DataFrame) -> list[str]:
    """Every (id, column) where the two disagree, as text."""
    b = batch.select(CONTRACT).sort("id")
    c = check.select(CONTRACT).sort("id")
    if b["id"].to_list() != c["id"].to_list():
        return [f"ids differ: batch {b.height} rows, check {c.height} rows"]
    out = []
    for col in CONTRACT:
        diff = b.with_row_index("__i").filter(pl.Series([x != y for x, y in zip(b[col].to_list(), c[col].to_list(), strict=True)]))
        for r in diff.head(3).iter_rows(named=True):
            out.append(f"{r['id']} {col}: batch {r[col]!r} check {c[col][r['__i']]!r}")
    return out
