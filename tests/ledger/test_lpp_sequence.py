"""Several orders to one consignee in one run: the vectorised LPP sequencing of `check --record`
equals deciding them one by one in date order, each seeing the LPP drawn by the earlier ones."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aiexport.commands.check import run_frame
from aiexport.io.transactions import parse
from aiexport.law.decide import decide
from aiexport.law.metrics import MICRO


def _orders(spec):
    rows = [{"id": f"o{k}", "date": f"2025-06-{d:02d}", "from": "US", "to": "IN", "item": {"chip": chip},
             "quantity": q, "consignee": {"name": f"P{p}", "country": "IN"}}
            for k, (d, q, p, chip) in enumerate(spec)]
    txs, errors, numbers = parse(rows, "o.yaml")
    assert not errors
    return txs, numbers


def _one_by_one(txs, numbers, base):
    used: dict[str, Decimal] = {}
    out = {}
    for i in sorted(range(len(txs)), key=lambda i: (txs[i].date, i)):
        t = txs[i]
        key = t.consignee.name
        prior = base + used.get(key, Decimal(0))
        t2 = t.model_copy(update={"facts": {**t.facts, "lpp_consumed_tpp": prior}})
        row = decide([t2], on=None, posture="codified", source="o.yaml", rows=[numbers[i]])
        out[t.id] = (row["outcome"][0], row["license_exception"][0], row["rules"][0].to_list())
        if row["license_exception"][0] == "LPP":
            used[key] = used.get(key, Decimal(0)) + Decimal(row["system_tpp"][0] * row["quantity"][0]) / MICRO
    return out


@settings(max_examples=12, deadline=None)
@given(spec=st.lists(st.tuples(st.integers(2, 20), st.sampled_from([1, 50, 300, 800, 1500, 2000]),
                               st.integers(0, 1), st.sampled_from(["H100 SXM", "H100 SXM", "RTX 4090"])),
                     min_size=2, max_size=9),
       base=st.sampled_from([Decimal(0), Decimal(10_000_000), Decimal(26_000_000)]))
def test_vectorised_sequencing_equals_one_by_one(spec, base):
    txs, numbers = _orders(spec)
    frame = run_frame(txs, numbers, Path("o.yaml"), None, "codified",
                      lpp_lookup=lambda t, year: base)
    got = {r["id"]: (r["outcome"], r["license_exception"], list(r["rules"])) for r in frame.iter_rows(named=True)}
    assert got == _one_by_one(txs, numbers, base)
