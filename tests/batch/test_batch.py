"""`aiexport batch`: the same values as `check`, rejects that name row, field and reason, counts
that reconcile, every input format, bounded chunks."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from aiexport.batch.run import run
from aiexport.cli import app
from tests.batch.helpers import check_records, differences, generate

EXAMPLES = Path(str(resources.files("aiexport") / "examples"))
runner = CliRunner()


def _jsonl(rows: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "book.csv"
    generate(1500, seed=11).write_csv(path)
    return path


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_generated_book_same_values_as_check(book, tmp_path, posture):
    out = tmp_path / "out.parquet"
    s = run(book, out, posture=posture, chunk_size=400)  # several chunks
    assert (s.rows_in, s.decided, s.rejected) == (1500, 1500, 0)
    batch = pl.read_parquet(out)
    assert batch["row"].to_list() == list(range(1, 1501))
    check = check_records(book, posture)
    assert differences(batch, check) == []
    # the book exercises every outcome and more than one rule version
    assert set(batch["outcome"]) == {"NLR", "LICENSE_EXCEPTION", "LICENSE_REQUIRED", "NEEDS_FACTS"}
    assert batch["rule_set"].n_unique() > 5


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_gp10_facts_stated_same_values_as_check(tmp_path, posture):
    """GP10 reads the stated facts (developed by a D:5/Macau entity, a technical evaluation) as
    columns in batch and from each transaction in check: the same values, GP10 and the technical
    evaluation note both reached."""
    import random

    rnd = random.Random(12)
    answers = ["", "", "yes", "no", "Y", "false", "TRUE"]
    book = generate(1500, seed=12)
    book = book.with_columns(
        pl.Series("fact_developed_by_d5_or_macau_entity", [rnd.choice(answers) for _ in range(book.height)]),
        pl.Series("fact_gp10_technical_evaluation", [rnd.choice(answers) for _ in range(book.height)]),
    )
    path = tmp_path / "book.csv"
    book.write_csv(path)
    out = tmp_path / "out.parquet"
    s = run(path, out, posture=posture, chunk_size=400)
    assert (s.decided, s.rejected) == (1500, 0)
    batch = pl.read_parquet(out)
    assert differences(batch, check_records(path, posture)) == []
    rules = batch["rules"]
    assert rules.list.contains("GP10").sum() > 50 and rules.list.contains("GP10.technical-evaluation").sum() > 50


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_chips_of_every_d5_designer_get_gp10_in_batch_as_in_check(tmp_path, posture):
    """A 3A090 chip by any designer that designers.yaml places in D:5 or Macau (MetaX, Enflame,
    ...), given by its specs, is reached by GP10 from the guidance on, in batch as in check. (Batch
    once looked only at the guidance's named ICs and vendors, and said NLR for these.)"""
    from aiexport.engine.params import default_store

    store = default_store()
    d5 = store.snapshot(dt.date(2025, 6, 2), posture).group("D:5") | {"MO"}
    designers = sorted(k for k, hq in store.parameter("ic_designer_headquarters").values[-1].value.items() if hq in d5)
    assert {"MetaX", "Enflame"} <= set(designers)
    specs = {"dense_tops_fp16": 500, "die_area_mm2": 800, "marketed_for_datacenter": True}
    rows = [
        {"id": f"{name}@{day}", "date": day, "kind": "transfer", "from": "MY", "to": "MY", "chip": "",
         "item": json.dumps({"specs": {"name": f"{name} X1", **specs}}), "quantity": "1",
         "consignee_name": "Acme MY", "consignee_country": "MY"}
        for name in designers for day in ("2025-05-12", "2025-06-02")
    ]
    path = tmp_path / "book.csv"
    pl.DataFrame(rows).write_csv(path)
    out = tmp_path / "out.parquet"
    assert run(path, out, posture=posture).decided == len(rows)
    batch = pl.read_parquet(out)
    assert differences(batch, check_records(path, posture)) == []
    after = batch.filter(pl.col("date") == dt.date(2025, 6, 2))
    assert after["rules"].list.contains("GP10").all() and (after["outcome"] == "LICENSE_REQUIRED").all()
    assert not batch.filter(pl.col("date") == dt.date(2025, 5, 12))["rules"].list.contains("GP10").any()


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_items_given_by_specs_same_values_as_check(tmp_path, posture):
    """Chips and servers given by their specs (not the catalog), named after designers in and out
    of D:5, some stated as developed by a D:5 entity: batch gives what check gives. (The generated
    book names catalog chips only; a batch shortcut that looked at catalog names alone went
    unseen there.)"""
    import random

    rnd = random.Random(7)
    book = generate(1500, seed=7)
    designers = ["MetaX", "Enflame", "Iluvatar CoreX", "HiSilicon", "Huawei", "Cambricon", "NVIDIA", "AMD", "Acme"]
    items, chips = [], []
    for item, chip in zip(book["item"].to_list(), book["chip"].to_list(), strict=True):
        if rnd.random() < 0.4:
            spec = {"name": f"{rnd.choice(designers)} X{rnd.randrange(9)}",
                    "dense_tops_fp16": rnd.choice([50, 150, 300, 500, 1000, 2500]),
                    "die_area_mm2": rnd.choice([100, 400, 800, 1300]), "marketed_for_datacenter": rnd.random() < 0.5}
            server = rnd.random() < 0.3
            items.append(json.dumps({"server": [{"specs": spec, "count": rnd.choice([1, 4, 8])}]} if server
                                    else {"specs": spec}))
            chips.append("")
        else:
            items.append(item)
            chips.append(chip)
    book = book.with_columns(
        pl.Series("item", items), pl.Series("chip", chips),
        pl.Series("fact_developed_by_d5_or_macau_entity", [rnd.choice(["", "", "", "yes", "no"]) for _ in items]),
    )
    path = tmp_path / "book.csv"
    book.write_csv(path)
    out = tmp_path / "out.parquet"
    s = run(path, out, posture=posture, chunk_size=500)
    assert (s.decided, s.rejected, s.per_row) == (1500, 0, 0)  # all on the columnar path
    batch = pl.read_parquet(out)
    assert differences(batch, check_records(path, posture)) == []
    assert batch["rules"].list.contains("GP10").sum() > 20


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_example_book_same_values_as_check(tmp_path, posture):
    """The bundled YAML book (servers, model weights, foundry facts, notices of facts) as JSON Lines."""
    rows = yaml.safe_load((EXAMPLES / "orders.yaml").read_text())
    path = _jsonl(rows, tmp_path / "orders.jsonl")
    out = tmp_path / "out.parquet"
    s = run(path, out, posture=posture)
    assert s.rejected == 0 and s.decided == len(rows)
    assert differences(pl.read_parquet(out), check_records(EXAMPLES / "orders.yaml", posture)) == []


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_example_csv_same_values_as_check(tmp_path, posture):
    out = tmp_path / "out.csv"
    s = run(EXAMPLES / "orders.csv", out, posture=posture, on=dt.date(2025, 6, 1))
    assert s.reconciles and s.rejected == 0
    batch = pl.read_csv(out, try_parse_dates=True, schema_overrides={"total_tpp": pl.Float64}).with_columns(
        pl.col(c).str.json_decode(pl.List(pl.String)) for c in ("obligations", "needs_facts", "rules"))
    assert differences(batch, check_records(EXAMPLES / "orders.csv", posture, on=dt.date(2025, 6, 1))) == []


def test_one_percent_bad_rows_are_rejected_and_the_rest_decided(tmp_path):
    rows = generate(1000, seed=5)
    bad = {
        7: ("date", "2024-13-01"), 99: ("to", "XX"), 250: ("quantity", "0"), 333: ("quantity", "many"),
        401: ("consignee_country", ""), 502: ("fact_lpp_consumed_tpp", "-5"), 640: ("chip", "No Such Chip 9000"),
        700: ("chip", "Another Missing Chip"), 777: ("kind", "gift"), 888: ("fact_approved_or_authorized_designer", "perhaps"), 999: ("id", "T0000010"),
    }
    rows = rows.with_columns(pl.when(pl.int_range(pl.len()).is_in([640 - 1, 700 - 1])).then(pl.lit("")).otherwise(pl.col("item")).alias("item"))
    for row, (col, value) in bad.items():
        rows = rows.with_columns(pl.when(pl.int_range(pl.len()) == row - 1).then(pl.lit(value)).otherwise(pl.col(col)).alias(col))
    path = tmp_path / "book.csv"
    rows.write_csv(path)
    out, rej = tmp_path / "out.parquet", tmp_path / "rejects.csv"
    result = runner.invoke(app, ["batch", str(path), "-o", str(out), "--rejects", str(rej), "--chunk-size", "300"])
    assert result.exit_code == 3, result.output
    assert "lines in: 1,000 = decided 989 + rejected 11" in result.output
    decided = pl.read_parquet(out)
    assert decided.height == 989 and not set(decided["row"]) & set(bad)
    rejects = pl.read_csv(rej, infer_schema=False)
    fields = dict(zip(rejects["row"].cast(int).to_list(), rejects["field"].to_list(), strict=True))
    assert fields == {
        7: "date", 99: "to", 250: "quantity", 333: "quantity", 401: "consignee_country",  # as check names a blank required cell
        502: "facts.lpp_consumed_tpp", 640: "item.chip", 700: "item.chip", 777: "kind",
        888: "facts.approved_or_authorized_designer", 999: "id",
    }
    reasons = dict(zip(rejects["row"].cast(int).to_list(), rejects["expected"].to_list(), strict=True))
    assert "non-negative" in reasons[502] and "catalog chip" in reasons[640]
    assert reasons[999] == "a unique id (also used in row 11)"
    assert rejects.filter(pl.col("row") == "99")["got"].to_list() == ["XX"]
    assert "Another Missing Chip" in rejects.filter(pl.col("row") == "700")["got"].item()


def test_unknown_columns_are_an_error_unless_allowed(tmp_path):
    path = tmp_path / "erp.csv"
    generate(20).with_columns(pl.lit("4711").alias("erp_order_no")).write_csv(path)
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["batch", str(path), "-o", str(out)])
    assert result.exit_code == 2 and "erp_order_no" in result.output
    result = runner.invoke(app, ["batch", str(path), "-o", str(out), "--allow-extra-columns"])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height == 20


def test_every_input_format_gives_the_same_decisions(tmp_path):
    flat = generate(200, seed=3)
    csv = tmp_path / "b.csv"
    flat.write_csv(csv)
    typed = pl.read_csv(csv, try_parse_dates=True)
    typed.write_parquet(tmp_path / "b.parquet")
    flat.write_excel(tmp_path / "b.xlsx")
    _jsonl(flat.to_dicts(), tmp_path / "b.jsonl")
    outs = {}
    for name in ("b.csv", "b.parquet", "b.xlsx", "b.jsonl"):
        out = tmp_path / f"{name}.parquet"
        s = run(tmp_path / name, out)
        assert (s.decided, s.rejected) == (200, 0), name
        outs[name] = pl.read_parquet(out)
    for name, frame in outs.items():
        assert frame.equals(outs["b.csv"]), name


def test_a_spreadsheet_with_date_and_number_cells(tmp_path):
    """Excel stores dates as dates and quantities as numbers (512.0): read as a CSV would have them."""
    flat = generate(50, seed=9)
    typed = flat.with_columns(pl.col("date").str.to_date(), pl.col("quantity").cast(pl.Float64),
                              pl.col("fact_nac_notified_on").replace("", None).str.to_date())
    typed.write_excel(tmp_path / "b.xlsx")
    flat.write_csv(tmp_path / "b.csv")
    a, b = run(tmp_path / "b.xlsx", tmp_path / "x.parquet"), run(tmp_path / "b.csv", tmp_path / "c.parquet")
    assert (a.decided, a.rejected) == (b.decided, b.rejected) == (50, 0)
    assert pl.read_parquet(tmp_path / "x.parquet").equals(pl.read_parquet(tmp_path / "c.parquet"))


def test_rows_needing_the_per_row_path_match_check(tmp_path):
    """Model weights (4E091) and a stated datacenter override go through check's own path inside
    batch; the chip rows around them do not, and every value matches check."""
    rows = yaml.safe_load((EXAMPLES / "orders.yaml").read_text())
    special = [r for r in rows if {"model", "model_facts"} & set(r.get("item", {}))]
    assert special, "the example book has model-weight orders"
    chip = next(r for r in rows if "chip" in r.get("item", {}))
    override = {**chip, "id": "DC-OVERRIDE", "facts": {**(chip.get("facts") or {}), "marketed_for_datacenter": "no"}}
    rows = [*rows, override]
    path = _jsonl(rows, tmp_path / "o.jsonl")
    s = run(path, tmp_path / "o.parquet")
    assert s.per_row == len(special) + 1 and s.decided == len(rows)
    yaml_path = tmp_path / "o.yaml"
    yaml_path.write_text(yaml.safe_dump(rows))
    for posture in ("enforced", "codified"):
        run(path, tmp_path / "o.parquet", posture=posture)
        assert differences(pl.read_parquet(tmp_path / "o.parquet"), check_records(yaml_path, posture)) == []


def test_repeated_ids_name_their_first_row():
    """``duplicates``: every row whose id (stripped) was used by an earlier row, with that first
    row; blank ids repeat nothing. Checked against a plain reading of the same ids."""
    import random

    from aiexport.batch.run import duplicates

    rng = random.Random(3)
    ids = [rng.choice([f"T{rng.randrange(400)}", f" T{rng.randrange(400)} ", None]) for _ in range(2_000)]
    lf = pl.LazyFrame({"row": list(range(1, len(ids) + 1)), "id": ids}, schema={"row": pl.Int64, "id": pl.String})
    total, dups = duplicates(lf)
    first: dict[str, int] = {}
    expected = {}
    for row, i in enumerate(ids, 1):
        if i is None:
            continue
        if i.strip() in first:
            expected[row] = first[i.strip()]
        else:
            first[i.strip()] = row
    assert total == len(ids) and dups == expected and len(expected) > 500
