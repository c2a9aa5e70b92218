"""A generated order book of any size, vectorised (10 M lines in seconds): the flat CSV columns of
`aiexport check`, 18 destinations, dates 2022-06..2026-12 (every rule version), catalog chips and
8-chip servers, mixed parties and stated facts. Deterministic for a seed."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from aiexport.catalog import accelerators

DESTS = ["CN", "HK", "MO", "VN", "SA", "AE", "IN", "SG", "MY", "IL", "DE", "JP", "GB", "RU", "KH", "BR", "US", "TW"]


def _pick(h: pl.Expr, choices: list) -> pl.Expr:
    return pl.lit(pl.Series(choices)).get(h % len(choices))


def generate(n: int, seed: int = 1) -> pl.DataFrame:
    chips = accelerators()["name"].to_list()
    servers = [json.dumps({"server": [{"chip": c, "count": 8}]}) for c in chips]
    i = pl.int_range(n, dtype=pl.UInt64)

    def h(k: int) -> pl.Expr:  # an independent pseudo-random stream per column
        return ((i + seed * 1_000_003 + k * 7919) * 2654435761 + k * 40503) % 4294967291 // 7

    to = _pick(h(1), DESTS)
    server = h(2) % 10 == 0
    base = pl.select(
        pl.format("T{}", i.cast(pl.String).str.zfill(8)).alias("id"),
        (pl.lit(dt.date(2022, 6, 1)) + pl.duration(days=(h(3) % 1640).cast(pl.Int64))).cast(pl.String).alias("date"),
        _pick(h(4), ["export", "export", "reexport", "transfer"]).alias("kind"),
        _pick(h(5), ["US", "US", "SG", "TW"]).alias("from"),
        to.alias("to"),
        pl.when(server).then(pl.lit("")).otherwise(_pick(h(6), chips)).alias("chip"),
        pl.when(server).then(_pick(h(6), servers)).otherwise(pl.lit("")).alias("item"),
        (h(7) % 2999 + 1).cast(pl.String).alias("quantity"),
        pl.format("Customer {}", (h(8) % 5000).cast(pl.String)).alias("consignee_name"),
        to.alias("consignee_country"),
        pl.when(h(9) % 5 < 2).then(pl.lit("")).otherwise(_pick(h(9), ["CN", "US", "X"])).alias("consignee_headquarters"),
        _pick(h(10), ["", "T", "US", "CN", "IN", "MO"]).alias("consignee_ultimate_parent_headquarters"),
        _pick(h(11), ["", "", "", "T", "SG"]).alias("end_user_country"),
        _pick(h(12), ["", "0", "10000000", "26000000"]).alias("fact_lpp_consumed_tpp"),
        _pick(h(13), ["", "", "development", "deployment"]).alias("fact_purpose"),
        _pick(h(14), ["", "yes", "no"]).alias("fact_approved_or_authorized_designer"),
        _pick(h(15), ["", "", "2024-05-20"]).alias("fact_nac_notified_on"),
        # legal reach (issue 10): origin facts, mostly stated as an exporter would (a blank made_in
        # on a reexport is asked), and an end use now and then
        _pick(h(16), ["US", "US", "TW", "TW", "MY", "CN", ""]).alias("fact_made_in"),
        _pick(h(17), ["", "yes", "yes", "no"]).alias("fact_direct_product_of_us_technology"),
        _pick(h(18), ["", "", "0", "30"]).alias("fact_us_controlled_content_share"),
        _pick(h(19), [""] * 12 + ["none", "supercomputer", "military"]).alias("fact_end_use"),
    )
    # "T" / "X": the destination itself
    return base.with_columns(
        pl.when(pl.col(c).is_in(["T", "X"])).then(pl.col("to")).otherwise(pl.col(c)).alias(c)
        for c in ("consignee_headquarters", "consignee_ultimate_parent_headquarters", "end_user_country")
    )
