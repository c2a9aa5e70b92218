from __future__ import annotations

from pathlib import Path

import pytest

LISTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lists"
CSL_BIS = LISTS / "csl_bis_2026-07-09.csv"
SDN = LISTS / "ofac_sdn_2024-05-03.csv"
SAMPLES = LISTS / "csl_samples"
FIXTURES = Path(__file__).parent / "fixtures"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present (list files are read from ../shared, never committed)")
    return path


@pytest.fixture(scope="session")
def real_index():
    from aiexport.screening.lists import load_list
    from aiexport.screening.match import Index

    entries = load_list(need(CSL_BIS)).entries + load_list(need(SDN)).entries
    return Index(entries)
