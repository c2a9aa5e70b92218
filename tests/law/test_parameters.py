from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aiexport.engine.params import ParameterError, ParameterStore, default_store


def test_every_value_carries_a_citation():
    store = default_store()
    assert store.parameters
    for p in store.parameters.values():
        for v in p.values:
            assert v.cite.strip(), (p.name, v.since)


def test_uncited_value_is_refused(tmp_path: Path):
    (tmp_path / "x.yaml").write_text("tpp_a1:\n  values:\n    2023-11-17: {value: 4800}\n")
    with pytest.raises(ParameterError, match="citation"):
        ParameterStore.load(tmp_path)


def test_values_are_as_of_a_date():
    store = default_store()
    assert store.at("tpp_a1", dt.date(2023, 11, 16)) is None
    assert store.at("tpp_a1", dt.date(2023, 11, 17)).value == 4800
    assert store.at("io_rate_2022", dt.date(2023, 11, 16)).value == 600
    assert store.at("io_rate_2022", dt.date(2023, 11, 17)).value is None


def test_rule_set_depends_on_posture():
    store = default_store()
    assert store.rule_set_label(dt.date(2025, 5, 14), "enforced") == "E2:2025-05-13"
    assert store.rule_set_label(dt.date(2025, 5, 14), "codified") == "R7:2025-01-16"
    assert store.rule_set_label(dt.date(2025, 5, 15), "codified") == "R6c:2025-05-15"


def test_timeline_entries_are_cited():
    for t in default_store().timeline:
        assert t["cite"] and t["id"] and t["effective"]
