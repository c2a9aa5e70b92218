"""The Entity List affiliates rule (15 CFR 744.11(a)(1), 90 FR 47201): an entity at least 50 %
owned, directly or indirectly, individually or in aggregate, by listed parties inherits the
listing. In force 2025-09-29 .. 2025-11-09 and again from 2026-11-10 (see reach.yaml).

The owners are stated facts of the end user (the consignee when there is none): name, share and
whether the owner is listed (the screening module answers that by name once wired)."""

from __future__ import annotations

import polars as pl

from aiexport.engine.params import Snapshot
from aiexport.law.metrics import MICRO
from aiexport.law.reach.rules import labels


def affiliates(frame: pl.LazyFrame, p: Snapshot) -> pl.LazyFrame:
    in_force = p.value("reach_affiliates_rule") is True
    if not in_force:
        return frame.with_columns(
            pl.lit(False).alias("744.11(a)(1)"), pl.lit([], dtype=pl.List(pl.String)).alias("affiliates_needs")
        )
    threshold = p.value("reach_affiliates_threshold_percent") * MICRO
    owners = pl.col("rf_owners")
    share = pl.element().struct.field("share")
    listed = pl.element().struct.field("listed")
    listed_sum = owners.list.eval(pl.when(listed.fill_null(False)).then(share).otherwise(0)).list.sum()
    unknown_sum = owners.list.eval(pl.when(listed.is_null()).then(share).otherwise(0)).list.sum()
    holds = listed_sum >= threshold
    could = (listed_sum + unknown_sum) >= threshold
    held = pl.when(holds).then(pl.lit(True)).when(could).then(pl.lit(None, pl.Boolean)).otherwise(pl.lit(False))
    frame = frame.with_columns(held.alias("744.11(a)(1)"))
    return frame.with_columns(labels([("owners", pl.col("744.11(a)(1)").is_null())]).alias("affiliates_needs"))


def entity_list_fdp_requirements(frame: pl.LazyFrame, p: Snapshot) -> pl.LazyFrame:
    """The licence requirements that go with the Entity List FDP rules: §744.11(a)(2)(i) (footnote 1),
    §744.11(a)(2)(ii) (footnote 4) and §746.8(a)(3) (footnote 3), for a foreign-produced item that
    an FDP rule made subject to the EAR (reads the §734.9 trace columns)."""
    return frame.with_columns(
        pl.col("734.9(e)(1)").alias("744.11(a)(2)(i)"),
        pl.col("734.9(e)(2)").alias("744.11(a)(2)(ii)"),
        pl.col("734.9(g)").alias("746.8(a)(3)"),
    )
