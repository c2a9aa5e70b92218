"""Unknown names are errors that name the field and suggest the closest known name; every
known name is accepted. Properties over generated names, plus the facts the law reads."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from aiexport.io.names import closest, known_facts
from aiexport.io.specs import known_columns as spec_columns
from aiexport.io.specs import normalise
from aiexport.io.transactions import TRANSACTION_FIELDS, parse


def _tx(**kw):
    t = {"id": "a", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"}, "quantity": 8,
         "consignee": {"country": "IN"}}
    t.update(kw)
    return t


def _typo(draw, name: str) -> str:
    i = draw(st.integers(min_value=0, max_value=len(name) - 1))
    c = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"))
    op = draw(st.sampled_from(["swap", "drop", "insert"]))
    if op == "drop" and len(name) > 6:
        return name[:i] + name[i + 1:]
    if op == "insert":
        return name[:i] + c + name[i:]
    return name[:i] + c + name[i + 1:]


@st.composite
def misspelled_fact(draw):
    name = draw(st.sampled_from(sorted(n for n in known_facts() if len(n) >= 8)))
    typo = _typo(draw, name)
    return name, typo


def test_the_law_facts_are_known():
    # read from facts.yaml, the rules' fact columns and the facts the law package reads by name
    for f in ("approved_or_authorized_designer", "lpp_consumed_tpp", "exporter_role", "packaged_by",
              "gp10_technical_evaluation", "developed_by_d5_or_macau_entity", "transistor_count"):
        assert f in known_facts()


@settings(max_examples=200, deadline=None)
@given(case=misspelled_fact())
def test_a_misspelled_fact_is_an_error_naming_it(case):
    name, typo = case
    ok, errors, _ = parse([_tx(facts={typo: "no"})], "o.yaml")
    if typo in known_facts():
        return  # the typo happens to be another known fact
    assert not ok
    assert errors[0].column == f"facts.{typo}"
    assert "a known fact" in errors[0].expected
    guess = closest(typo, known_facts())
    if guess is not None:
        assert f"did you mean '{guess}'" in errors[0].expected


@settings(max_examples=100, deadline=None)
@given(name=st.text(min_size=1, max_size=20).filter(lambda s: s not in TRANSACTION_FIELDS and s not in ("on",)))
def test_an_unknown_field_is_an_error(name):
    ok, errors, _ = parse([_tx(**{name: 1})], "o.yaml")
    assert not ok and any(e.column == name and "a known field" in e.expected for e in errors)


@settings(max_examples=100, deadline=None)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=25))
def test_an_unknown_spec_column_refuses_the_file(name):
    raw = pl.DataFrame({"name": ["X"], name: ["1"]}) if name != "name" else pl.DataFrame({"name": ["X"]})
    result = normalise(raw, "specs.csv")
    if name in spec_columns():
        assert all(e.column != name or "a known column" not in e.expected for e in result.errors)
    else:
        assert result.frame.height == 0
        assert any(e.column == name and "a known column" in e.expected for e in result.errors)


@settings(max_examples=50, deadline=None)
@given(fact=st.sampled_from(sorted(known_facts())))
def test_every_known_fact_name_is_accepted_by_name(fact):
    ok, errors, _ = parse([_tx(facts={fact: None})], "o.yaml")
    assert not [e for e in errors if "a known fact" in e.expected]
