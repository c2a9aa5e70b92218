"""From validated transactions to decisions: items classified, facts joined, rules evaluated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache

import polars as pl

from aiexport.errors import InputError
from aiexport.io.transactions import Transaction
from aiexport.law.facts import default as fact_default
from aiexport.law.facts import question as _question
from aiexport.law.license import FACT_COLUMNS, RULES, decide_frame, fact_value
from aiexport.law.metrics import MICRO

AS_CHINA = {"HK": "CN"}  # Hong Kong is treated as China under the EAR

# A callback giving the LPP TPP already consumed by an ultimate consignee in a calendar year
# (the ledger provides one); a stated fact takes precedence.
LppLookup = Callable[[Transaction, int], "int | float | None"]


def question(fact: str) -> str:
    """The question for a fact: the legal-reach registry for its facts, else the licence rules'
    (which also know the item's questions and those the screening overlay registers)."""
    from aiexport.law.reach.facts import question as reach_question
    from aiexport.law.reach.facts import registry as reach_registry

    return reach_question(fact) if fact in reach_registry() else _question(fact)


def _cc(code: str | None) -> str | None:
    return AS_CHINA.get(code, code) if code else code


def _designers() -> dict[str, str]:
    from aiexport.engine.params import default_store

    values = default_store().parameter("ic_designer_headquarters").values
    return {str(k).lower(): str(v) for k, v in (values[-1].value or {}).items()}


def designer_headquarters(item: dict) -> str | None:
    """Where the IC's designer is headquartered: the catalog vendor, or a specs row's vendor
    (or the first word(s) of its name) when designers.yaml lists it; None when unknown."""
    from aiexport.catalog import CatalogLookupError, accelerators, resolve

    known = _designers()
    vendor = None
    if isinstance(item.get("chip"), str):
        try:
            vendor = accelerators()["vendor"][resolve(item["chip"])]
        except CatalogLookupError:
            return None
    elif isinstance(item.get("specs"), dict):
        spec = item["specs"]
        vendor = spec.get("vendor")
        if not vendor and isinstance(spec.get("name"), str):
            name = spec["name"].lower()
            vendor = next((v for v in sorted(known, key=len, reverse=True) if name == v or name.startswith(v + " ")), None)
    return known.get(str(vendor).strip().lower()) if vendor else None


def _party_defaults(t: Transaction) -> list[str]:
    """The documented party defaults a transaction relied on (for the memo's assumptions)."""
    out = []
    for role, party in (("consignee", t.consignee), ("end user", t.end_user)):
        if party is None:
            out.append("end user not stated: the consignee is the end user")
            continue
        if party.headquarters is None:
            out.append(f"{role} headquarters not stated: headquartered where it is located ({party.country})")
        if party.ultimate_parent_headquarters is None:
            out.append(f"{role} ultimate parent not stated: its own ultimate parent (headquartered {party.hq})")
    return out


def prepare(
    transactions: list[Transaction],
    *,
    on: dt.date | None = None,
    posture: str = "enforced",
    source: str = "transactions",
    rows: list[int] | None = None,
    explain: bool = False,
    lpp_lookup: LppLookup | None = None,
    veu_lookup=None,
) -> pl.DataFrame:
    """One row per transaction: parties, facts (the licence rules' and the legal-reach rules' rf_*
    columns) and the item's classification."""
    dates = [on or t.date for t in transactions]
    items = []
    for t in transactions:
        item = dict(t.item)
        dc = t.facts.get("marketed_for_datacenter")
        if dc is not None and "chip" in item:  # a stated fact overrides the catalog's reading
            item["marketed_for_datacenter"] = dc
        items.append(item)
    from aiexport.engine import cache  # each distinct (item, epoch) is classified once per process

    cls = cache.classify(items, dates, source, rows, posture=posture, explain=explain)

    cols: dict[str, list] = {k: [] for k in (
        "id", "date", "kind", "from", "to", "to_stated", "quantity",
        "c_name", "c_country", "c_hq", "c_phq", "e_name", "e_country", "e_hq", "e_phq",
    )}
    facts: dict[str, list] = {col: [] for col, _ in FACT_COLUMNS.values()}
    designer_hq: list[str | None] = []
    defaulted: list[list[str]] = []
    party_defaults: list[list[str]] = []
    defaults = {name: fact_value(name, None) for name in FACT_COLUMNS}
    with_default = [name for name in FACT_COLUMNS if fact_default(name) is not None]
    designer_of: dict[str, str | None] = {}  # catalog chip name -> designer headquarters
    for n, (t, d) in enumerate(zip(transactions, dates, strict=True)):
        eu = t.end_user or t.consignee
        for k, v in (
            ("id", t.id), ("date", d), ("kind", t.kind), ("from", _cc(t.from_)), ("to", _cc(t.to)),
            ("to_stated", t.to), ("quantity", t.quantity),
            ("c_name", t.consignee.name), ("c_country", _cc(t.consignee.country)), ("c_hq", _cc(t.consignee.hq)),
            ("c_phq", _cc(t.consignee.parent_hq)), ("e_name", eu.name), ("e_country", _cc(eu.country)),
            ("e_hq", _cc(eu.hq)), ("e_phq", _cc(eu.parent_hq)),
        ):
            cols[k].append(v)
        stated = t.facts or {}
        for name, (col, _) in FACT_COLUMNS.items():
            raw = stated.get(name)
            if name == "lpp_consumed_tpp" and raw is None and lpp_lookup is not None:
                raw = lpp_lookup(t, d.year)
            if raw is None:
                facts[col].append(defaults[name])
                continue
            try:
                facts[col].append(fact_value(name, raw))
            except ValueError as exc:
                row = rows[n] if rows else n + 1
                raise InputError(source, row, f"facts.{name}", str(exc), raw) from None
        hq = facts["designer_hq_stated"][-1]
        if hq is None:
            item = t.item if isinstance(t.item, dict) else {}
            chip = item.get("chip") if len(item) == 1 else None
            if isinstance(chip, str):
                if chip not in designer_of:
                    designer_of[chip] = designer_headquarters(item)
                hq = designer_of[chip]
            else:
                hq = designer_headquarters(item)
        designer_hq.append(hq)
        if explain:  # the memo's assumptions: only asked for with explanations
            defaulted.append([name for name in with_default if stated.get(name) is None])
            party_defaults.append(_party_defaults(t))
        else:
            defaulted.append([])
            party_defaults.append([])
    schema = {"date": pl.Date, "quantity": pl.Int64}
    frame = pl.DataFrame(cols, schema_overrides=schema)
    frame = frame.with_columns(pl.DataFrame(facts, schema={c: t for c, t in FACT_COLUMNS.values()}))
    frame = frame.with_columns(pl.Series("designer_hq", designer_hq, dtype=pl.String),
                               pl.Series("defaulted_facts", defaulted, dtype=pl.List(pl.String)),
                               pl.Series("party_defaults", party_defaults, dtype=pl.List(pl.String)))
    item_cols = cls.select(
        "eccn", "paragraph", "nac_aca_eligible", "hbm_exception_eligible", "tpp", "system_tpp",
        "memory_bandwidth", "datacenter", "name",
        pl.col("needs_facts").alias("item_needs"), pl.col("rules").alias("item_rules"),
        pl.col("reasons").alias("item_reasons"), pl.col("rule_set").alias("item_rule_set"),
    ).rename({"name": "item_name"})
    from aiexport.law.reach import fact_frame  # issue 10: the facts the legal-reach rules read

    reach_facts = fact_frame(transactions, source=source, rows=rows, veu_lookup=veu_lookup)
    return pl.concat([frame, item_cols, reach_facts], how="horizontal")


def decide(
    transactions: list[Transaction],
    *,
    on: dt.date | None = None,
    posture: str = "enforced",
    source: str = "transactions",
    rows: list[int] | None = None,
    explain: bool = False,
    lpp_lookup: LppLookup | None = None,
    notices: list | None = None,
    authorizations: dict | None = None,
    veu_lookup=None,
) -> pl.DataFrame:
    """Decide transactions: chips and computers (classification, facts, the CCL licence rules, the
    legal-reach step — subject to the EAR, Part 744/746, VEU — then GP10 and notices), model weights.
    ``authorizations`` are the VEU authorizations on record (``aiexport.law.reach.load_authorizations``)."""
    from aiexport.law import overlays, reach_step, routing

    chips, mods = routing.split(transactions)
    numbers = rows or list(range(1, len(transactions) + 1))
    parts = []
    if chips:
        txs = transactions if not mods else [transactions[i] for i in chips]
        rws = [numbers[i] for i in chips]
        frame = prepare(txs, on=on, posture=posture, source=source, rows=rws, explain=explain, lpp_lookup=lpp_lookup,
                        veu_lookup=veu_lookup)
        frame = routing.apply_foundry(frame, txs, posture=posture, on=on, source=source, rows=rws)
        frame = decide_frame(frame, posture=posture)
        # the reach step reads the ECCN after the foundry presumption; GP10 stays after it (§9.6)
        frame = reach_step.apply(frame, posture=posture, authorizations=authorizations)
        parts.append((chips, overlays.apply(frame, [t.facts for t in txs], posture=posture, notices=notices)))
    if mods:  # model weights: ECCN 4E091
        txs = [transactions[i] for i in mods]
        parts.append((mods, routing.decide_models(txs, on=on, posture=posture, source=source, rows=[numbers[i] for i in mods])))
    return routing.merge(parts)


RECORD_COLUMNS = (
    "id", "date", "outcome", "eccn", "paragraph", "item_name", "quantity", "system_tpp", "from", "to_stated",
    "license_exception", "review_policy", "obligations", "needs_facts", "rules", "posture", "rule_set",
    # the reach part (law.reach.memo.record)
    "subject_to_ear", "subject_rules", "reach_requirement_rules", "reach_policy", "veu_authorized", "veu_rules",
    "reach_obligations", "reach_flags", "reach_needs_facts", "reach_fact_sources",
)


def records(frame: pl.DataFrame) -> list[dict]:
    """The JSON contract of `aiexport check`."""
    out = []
    # only the columns read here: a decided frame has hundreds (the classification's reasons among them)
    frame = frame.select([c for c in RECORD_COLUMNS if c in frame.columns])
    reach_from = None
    if "subject_to_ear" in frame.columns:
        from aiexport.law.reach_step import first_day

        reach_from = first_day()
    for r in frame.iter_rows(named=True):
        total = None if r.get("system_tpp") is None else r["system_tpp"] * r["quantity"] / MICRO
        out.append(
            {
                "id": r["id"],
                "date": r["date"].isoformat(),
                "outcome": r["outcome"],
                "eccn": r["eccn"],
                "paragraph": r["paragraph"],
                "item": r["item_name"],
                "quantity": r["quantity"],
                "total_tpp": int(total) if total is not None and total == int(total) else total,
                "from": r["from"],
                "to": r["to_stated"],
                "license_exception": r["license_exception"],
                "review_policy": r["review_policy"],
                "obligations": r["obligations"],
                "needs_facts": [{"fact": f, "question": question(f)} for f in r["needs_facts"]],
                "rules": r["rules"],
                # why each rule is listed (same order as `rules`): requirement, requirement-not-met (on NLR), exception, ...
                "basis": [rule_basis(x, r["outcome"]) for x in r["rules"]],
                "posture": r["posture"],
                "rule_set": r["rule_set"],
            }
        )
        # chips and computers dated from the first day the legal-reach rules are encoded (issue 10):
        # an earlier order keeps the CCL answer and has no reach record, whether or not later orders
        # were decided beside it (a mixed frame carries the reach columns, null, on its early rows)
        if reach_from is not None and r["date"] >= reach_from:
            from aiexport.law.reach.memo import record

            out[-1]["reach"] = record(r)
    return out


@lru_cache(maxsize=4096)  # a function of the two strings (and of constants): asked for every rule of every record
def rule_basis(rule: str, outcome: str) -> str:
    from aiexport.law.memo import rule_basis as basis

    return basis(rule, outcome)


def rule_info(rule_id: str) -> tuple[str, str]:
    from aiexport.law import foundry, models, overlays, reach

    r = (RULES.get(rule_id) or models.RULES.get(rule_id) or foundry.RULES.get(rule_id) or overlays.RULES.get(rule_id)
         or reach.RULES.get(rule_id))
    if r:
        return r.cite, r.text
    if rule_id.startswith("notice:"):
        n = next((n for n in overlays.bundled_notices() if n.rule == rule_id), None)
        return (n.cite, n.title) if n else ("user notice (see the notices file)", "")
    from aiexport.law.classify import CITE

    return CITE.get(rule_id, ""), ""
