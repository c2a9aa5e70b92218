"""Fuzzing every loader through the real entry point: hypothesis writes files (raw bytes, text in
several encodings, CSV of any shape, YAML/JSON documents of any shape, values at the edges of the
numeric range) and each command must end in exit 0 or exit 2 with a message — never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.helpers import run_main

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

TX_COLUMNS = ["id", "date", "kind", "from", "to", "chip", "item", "quantity", "consignee_name", "consignee_country",
              "consignee_headquarters", "end_user_country", "facts", "fact_lpp_consumed_tpp", "fact_purpose",
              "fact_approved_or_authorized_designer", "value_usd"]
SPEC_COLUMNS = ["name", "vendor", "model", "dense_tops_fp16", "dense_tops_fp8", "dense_tops_int8", "tpp", "die_area_mm2",
                "marketed_for_datacenter", "non_planar", "interconnect_bandwidth_gbps", "memory_bandwidth_gbps",
                "device_type", "package_area_mm2"]
EDGE_NUMBERS = ["0", "-1", "1", "2.5", "1e400", "-1e400", "NaN", "nan", "inf", "-0", "9" * 30, "0.0000001",
                "989000000000000", "9223372036854775807", "9223372036854775808", "1_000", "1,000", " 8 ", "0x10"]
CELLS = st.one_of(
    st.sampled_from(EDGE_NUMBERS + ["", "H100 SXM", "US", "CN", "NO", "2025-06-02", "2025-13-40", "yes", "no",
                                    "export", "transfer", '{"chip": "H100 SXM"}', "{", "[]", "ambiguous"]),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _run(tmp: Path, name: str, data: bytes, *cmd: str) -> None:
    path = tmp / name
    path.write_bytes(data)
    args = [a.replace("{file}", str(path)) for a in cmd]
    code, out, err = run_main(args)
    assert "Traceback" not in err, err
    assert code in (0, 2), f"exit {code}: {err}"
    if code == 2:
        assert "error" in err.lower(), err


def _csv(header: list[str], rows: list[list[str]]) -> str:
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\n\r') else c

    return "\n".join(",".join(q(c) for c in r) for r in [header, *rows]) + "\n"


csv_tables = st.builds(
    lambda header, rows: (header, rows),
    st.lists(st.one_of(st.sampled_from(TX_COLUMNS + SPEC_COLUMNS), st.text(max_size=8)), min_size=0, max_size=10),
    st.lists(st.lists(CELLS, min_size=0, max_size=11), max_size=4),
)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"])

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10), CELLS)
json_values = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def _tx(draw_value):
    return {"id": "a", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"},
            "quantity": 8, "consignee": {"country": "IN"}}


tx_docs = st.lists(
    st.fixed_dictionaries({}, optional={
        "id": JSON_SCALARS, "date": JSON_SCALARS, "kind": JSON_SCALARS, "from": JSON_SCALARS, "to": JSON_SCALARS,
        "item": st.one_of(json_values, st.fixed_dictionaries({"chip": JSON_SCALARS}),
                          st.fixed_dictionaries({"specs": st.dictionaries(st.sampled_from(SPEC_COLUMNS), CELLS)}),
                          st.fixed_dictionaries({"server": st.lists(st.fixed_dictionaries(
                              {"chip": st.just("H100 SXM"), "count": JSON_SCALARS}), max_size=3)})),
        "quantity": JSON_SCALARS, "consignee": st.one_of(json_values, st.fixed_dictionaries({"country": JSON_SCALARS})),
        "facts": st.dictionaries(st.sampled_from(["lpp_consumed_tpp", "purpose", "approved_or_authorized_designer",
                                                  "nac_notified_on", "exporter_role", "process_node_nm", "typo_fact"]),
                                 JSON_SCALARS, max_size=3),
    }).map(lambda d: {"id": "a", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"},
                      "quantity": 8, "consignee": {"country": "IN"}, **d}),
    max_size=3,
)


def _dump(doc, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(doc, default=str).encode()  # NaN and Infinity are written as JSON allows
    return yaml.safe_dump(doc, allow_unicode=True).encode()


@SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".yaml", ".json", ".txt"]))
def test_raw_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as d:
        _run(Path(d), "in" + suffix, data, "check", "{file}")
        _run(Path(d), "in" + suffix, data, "classify", "--specs", "{file}")


@SETTINGS
@given(table=csv_tables, encoding=encodings)
def test_csv_any_shape_any_encoding(table, encoding):
    text = _csv(*table)
    data = text.encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as d:
        _run(Path(d), "orders.csv", data, "check", "{file}", "--posture", "codified")
        _run(Path(d), "chips.csv", data, "classify", "--specs", "{file}")


@SETTINGS
@given(doc=tx_docs, fmt=st.sampled_from(["json", "yaml"]))
def test_transaction_documents(doc, fmt):
    with tempfile.TemporaryDirectory() as d:
        _run(Path(d), f"orders.{fmt}", _dump(doc, fmt), "check", "{file}", "--posture", "codified")


@SETTINGS
@given(doc=json_values, fmt=st.sampled_from(["json", "yaml"]))
def test_any_document(doc, fmt):
    with tempfile.TemporaryDirectory() as d:
        _run(Path(d), f"x.{fmt}", _dump(doc, fmt), "check", "{file}")
        _run(Path(d), f"x.{fmt}", _dump(doc, fmt), "classify", "--specs", "{file}")
        _run(Path(d), f"x.{fmt}", _dump(doc, fmt), "check", str(Path(__file__).parent / "files" / "norway.yaml"),
             "--notices", "{file}")


@SETTINGS
@given(rows=st.lists(st.dictionaries(st.sampled_from(SPEC_COLUMNS), CELLS, min_size=1), min_size=1, max_size=4),
       fmt=st.sampled_from(["json", "yaml"]))
def test_spec_documents(rows, fmt):
    with tempfile.TemporaryDirectory() as d:
        _run(Path(d), f"chips.{fmt}", _dump(rows, fmt), "classify", "--specs", "{file}")
