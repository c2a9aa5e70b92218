"""Shared builders for the ledger tests."""

from __future__ import annotations


def decision(
    i: int | str, outcome: str = "LICENSE_EXCEPTION", draws: list | None = None, **extra
) -> dict:
    d = {
        "id": f"dec-{i}",
        "outcome": outcome,
        "eccn": "3A090.a",
        "license_exception": "LPP" if outcome == "LICENSE_EXCEPTION" else None,
        "review_policy": "case-by-case" if outcome == "LICENSE_REQUIRED" else None,
        "obligations": [],
        "needs_facts": ["designed_or_marketed_for_datacenters"] if outcome == "NEEDS_FACTS" else [],
        "rules": ["3A090.a.1", "740.29(a)"],
        "posture": "codified",
        "rule_set": "2025.01-test",
        "date": "2025-03-01",
        "inputs": {
            "chip": "NVIDIA H100 SXM5 80GB",
            "tpp": 15832,
            "destination": "IN",
            "quantity": 8,
        },
    }
    if draws is not None:
        d["draws"] = draws
    d.update(extra)
    return d


LPP_2025 = {
    "limit": 26_900_000,
    "unit": "tpp",
    "kind": "quota",
    "valid_from": "2025-01-01",
    "valid_to": "2025-12-31",
}
