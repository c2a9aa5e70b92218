"""Every yes/no fact is read by one parser (`aiexport.law.facts.yes_no`), and an answer it
cannot read is refused, naming the fact — never taken as "no". Before, the GP10 overlay read
`developed_by_d5_or_macau_entity: maybe` as "no" and the order went out NLR."""

from __future__ import annotations

import polars as pl
import pytest

from aiexport.batch.validate import OVERLAY_FACTS, validate
from aiexport.errors import InputError, InputErrors
from aiexport.io.transactions import parse
from aiexport.law.decide import decide
from aiexport.law.facts import is_yes_no, yes_no
from aiexport.law.reach.facts import registry as reach_registry

FOUNDRY = ["designer_agreed_743_9b", "non_planar", "logic_ic", "designer_approved", "designer_attests_not_3a090a",
           "contains_hbm"]
REACH = sorted(f for f, r in reach_registry().items() if r.get("type") == "boolean")
LICENCE_AND_OVERLAY = sorted({*OVERLAY_FACTS, "approved_or_authorized_designer", "ultimate_customers_outside_d5_macau"})


def _tx(facts: dict) -> dict:
    return {"id": "a", "date": "2025-06-10", "kind": "export", "from": "TW", "to": "MY", "item": {"chip": "H100 SXM"},
            "quantity": 1, "consignee": {"country": "MY"},
            "facts": {"exporter_role": "front-end fabricator", "made_in": "TW", **facts}}


def _refused(fact: str, value: str) -> InputError | None:
    """The error `check` gives for the order stating FACT: VALUE (parse, then decide), or None."""
    txs, errors, numbers = parse([_tx({fact: value})], "o.yaml")
    if errors:
        return errors[0]
    try:
        decide(txs, source="o.yaml", rows=numbers, posture="enforced")
    except InputErrors as exc:
        return exc.errors[0]
    except InputError as exc:
        return exc
    return None


@pytest.mark.parametrize("value", ["yes", "No", " TRUE ", "n", "1", "0"])
def test_the_parser_reads_the_documented_answers(value):
    assert yes_no(value, ValueError) is (value.strip().lower() in ("yes", "true", "1"))


@pytest.mark.parametrize("value", ["maybe", "ja", "2", "yes please", "nein"])
def test_the_parser_refuses_anything_else(value):
    with pytest.raises(ValueError, match="yes or no"):
        yes_no(value, ValueError)


@pytest.mark.parametrize("fact", [*LICENCE_AND_OVERLAY, *FOUNDRY, *REACH])
def test_check_refuses_an_unreadable_answer_naming_the_fact(fact):
    err = _refused(fact, "maybe")
    assert err is not None, f"{fact}: 'maybe' was accepted"
    assert fact in (err.column or "") and "yes or no" in err.expected
    assert _refused(fact, "no") is None and _refused(fact, "yes") is None


def test_the_overlay_facts_are_yes_no_facts():
    assert all(is_yes_no(f) for f in OVERLAY_FACTS)


def test_batch_rejects_an_unreadable_overlay_answer():
    raw = pl.DataFrame({
        "row": [2, 3], "id": ["a", "b"], "date": ["2025-06-10"] * 2, "kind": ["export"] * 2, "from": ["US"] * 2,
        "to": ["MY"] * 2, "chip": ["H100 SXM"] * 2, "quantity": ["1"] * 2, "consignee_country": ["MY"] * 2,
        "fact_developed_by_d5_or_macau_entity": ["maybe", "no"],
    })
    good, rejects = validate(raw, "book.csv")
    assert good["id"].to_list() == ["b"]
    assert rejects.select("row", "field", "expected").to_dicts() == [
        {"row": 2, "field": "facts.developed_by_d5_or_macau_entity", "expected": "yes or no"}]
