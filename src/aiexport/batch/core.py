"""Decide one chunk of an order book: validate as expressions, classify each distinct item once
per parameter epoch, and run the same rule functions as `aiexport check` over the whole chunk.

Per-row Python never runs on the common path. Per *distinct* value it does (a few hundred chip
names or server configurations in a million lines): each distinct item is resolved and
classified by the functions `check` uses (`build_frames`, `classify_item_frames`), once for
each parameter epoch in which it appears, and joined back to its rows. The license rules
(`decide_frame`) then run over the whole chunk, one pass per epoch, and the GP10 overlay
(`overlays.apply`) visits only the rows it can change.

Rows whose item or facts need the per-row logic of `check` (model weights under 4E091, the
foundry presumption, a stated datacenter override, a free-form ``facts`` cell) go through
`check`'s own path (`app.decisions.decide_checked`); they are counted as such.

Restricted parties (issue 8): each distinct party of the chunk (consignee, end user and their
ultimate parents, by name) is screened once against the current lists with `check`'s own
function (`screening.determination.screen_transactions`). A row whose parties have any match at
or above the threshold goes through `check`'s own path, which overlays the screening exactly as
`check` does; a row with no match is one the overlay leaves unchanged, so the fast path decides it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from aiexport.batch.validate import (
    OVERLAY_FACTS,
    REJECT_SCHEMA,
    fast_reach_facts,
    known_facts,
    typed,
    validate,
)
from aiexport.errors import InputError
from aiexport.law.license import FACT_COLUMNS, decide_frame
from aiexport.law.metrics import MICRO

OUTPUT_SCHEMA = {
    "row": pl.Int64,
    "id": pl.String,
    "date": pl.Date,
    "outcome": pl.String,
    "eccn": pl.String,
    "paragraph": pl.String,
    "item": pl.String,
    "quantity": pl.Int64,
    "total_tpp": pl.Float64,
    "from": pl.String,
    "to": pl.String,
    "license_exception": pl.String,
    "review_policy": pl.String,
    "obligations": pl.List(pl.String),
    "needs_facts": pl.List(pl.String),
    "rules": pl.List(pl.String),
    "posture": pl.String,
    "rule_set": pl.String,
}


@dataclass
class Result:
    decided: pl.DataFrame
    rejects: pl.DataFrame
    rows_in: int
    per_row: int = 0  # rows decided by check's per-row path
    counts: dict = field(default_factory=dict)
    screened: str = "not_screened"  # the restricted-party screening of this chunk: screened | not_screened | nothing
    screening_note: str = ""  # why not screened, or the list versions screened against
    party_hits: int = (
        0  # rows with a restricted-party match (decided by check's path, with the overlay)
    )
    records: list[dict] | None = (
        None  # decide_chunk(as_records=True): check's JSON records, in row order
    )


@lru_cache(maxsize=4096)
def _item_of(chip: str | None, item: str | None) -> tuple[str, object]:
    """('fast', item dict) | ('slow', None) | ('bad', (field, expected, got)) for one distinct cell."""
    from aiexport.law.models import is_model_item

    if item is None:
        return "fast", {"chip": chip}
    try:
        value = json.loads(item)
    except json.JSONDecodeError:
        return "slow", None  # check's reader reports it
    if not isinstance(value, dict) or is_model_item(value):
        return "slow", None
    return "fast", value


_KEY = ["chip", "item", "__epoch"]
_cache: dict[tuple, tuple[object, pl.DataFrame, pl.DataFrame]] = {}


def _empty_classified() -> tuple[pl.DataFrame, pl.DataFrame]:
    key = {"chip": pl.String, "item": pl.String, "__epoch": pl.Int64}
    return pl.DataFrame(schema=key), pl.DataFrame(
        schema={**key, "field": pl.String, "expected": pl.String, "got": pl.String}
    )


def classified(keys: pl.DataFrame, posture: str, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each distinct (item, epoch) classified once per process, store and posture; returns
    (classification by key, rejects by key). ``keys`` has chip, item, __epoch, date, row."""
    from aiexport.engine.params import default_store

    store = default_store()
    ck = (id(store), posture)
    _, done, bad = _cache.get(ck) or (store, *_empty_classified())
    new = keys.join(done.select(_KEY), on=_KEY, how="anti", nulls_equal=True).join(
        bad.select(_KEY), on=_KEY, how="anti", nulls_equal=True
    )
    if new.height:
        more, more_bad = _classify(new, posture, source)
        done = pl.concat([done, more], how="diagonal_relaxed") if done.height else more
        bad = pl.concat([bad, more_bad], how="vertical_relaxed")
        if len(_cache) > 8:
            _cache.clear()
        _cache[ck] = (store, done, bad)  # holding the store keeps its id from being reused
    return done, bad


def _classify(keys: pl.DataFrame, posture: str, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Classify each (item, epoch) of ``keys`` with check's functions, on the first date seen."""
    from aiexport.engine import cache
    from aiexport.law import decide as _decide
    from aiexport.law.items import build_frames

    designer = getattr(_decide, "designer_headquarters", None)
    items, dates, good, bad, dhq = [], [], [], [], []
    rows = keys.select(*_KEY, "date", "row").rows()
    # each distinct item validated once (names resolved, specs checked): all in one call, and one
    # by one only when that call finds a bad one (to name each bad item's field)
    first: dict[tuple, tuple] = {}
    for chip, item, _, date, row in rows:
        first.setdefault((chip, item), (_item_of(chip, item)[1], date, row))
    checked: dict[tuple, InputError | None] = dict.fromkeys(first)
    try:
        if first:
            values, on, at = (list(x) for x in zip(*first.values(), strict=True))
            build_frames(values, on, source, at)
    except InputError:
        for ci, (value, date, row) in first.items():
            try:
                build_frames([value], [date], source, [row])
            except InputError as e:
                checked[ci] = e
    hq = {ci: designer(v) if designer else None for ci, (v, _, _) in first.items() if checked[ci] is None}
    for chip, item, epoch, date, _row in rows:
        e = checked[(chip, item)]
        if e is not None:
            bad.append(
                (chip, item, epoch, e.column, e.expected, None if e.got is None else str(e.got))
            )
            continue
        items.append(first[(chip, item)][0])
        dates.append(date)
        good.append((chip, item, epoch))
        dhq.append(hq[(chip, item)])
    out = pl.DataFrame(
        good, schema={"chip": pl.String, "item": pl.String, "__epoch": pl.Int64}, orient="row"
    )
    if items:
        # check's cache: each (item, epoch) classified once per process, and a classification
        # reused in the epochs where everything it read is the same (engine.cache)
        cls = cache.classify(items, dates, source, None, posture=posture, explain=False)
        out = out.with_columns(
            cls.select(
                "eccn",
                "paragraph",
                "nac_aca_eligible",
                "hbm_exception_eligible",
                "tpp",
                "system_tpp",
                "memory_bandwidth",
                "datacenter",
                pl.col("name").alias("item_name"),
                pl.col("needs_facts").alias("item_needs"),
                pl.col("rules").alias("item_rules"),
                pl.col("reasons").alias("item_reasons"),
                pl.col("rule_set").alias("item_rule_set"),
            )
        )
        if designer:
            out = out.with_columns(pl.Series("designer_hq_item", dhq, dtype=pl.String))
    schema = {
        "chip": pl.String,
        "item": pl.String,
        "__epoch": pl.Int64,
        "field": pl.String,
        "expected": pl.String,
        "got": pl.String,
    }
    return out, pl.DataFrame(bad, schema=schema, orient="row")


def _route(good: pl.DataFrame) -> pl.Series:
    """True for rows that need check's per-row path."""
    cols = set(good.columns)
    slow = pl.lit(False)
    for f in known_facts():
        c = f"fact_{f}"
        if (
            c in cols
            and f not in FACT_COLUMNS
            and f not in OVERLAY_FACTS
            and f not in fast_reach_facts()
        ):
            slow = slow | pl.col(c).str.strip_chars().replace("", None).is_not_null()
    if "facts" in cols:
        slow = slow | pl.col("facts").str.strip_chars().replace("", None).is_not_null()
    if "item" in cols:
        items = good["item"].str.strip_chars().replace("", None)
        chips = (
            good["chip"].str.strip_chars().replace("", None)
            if "chip" in cols
            else pl.Series([None] * good.height, dtype=pl.String)
        )
        uniq = pl.DataFrame({"chip": chips, "item": items}).unique()
        slow_items = [
            i for c, i in uniq.iter_rows() if i is not None and _item_of(c, i)[0] == "slow"
        ]
        if slow_items:
            slow = slow | pl.col("item").str.strip_chars().is_in(slow_items).fill_null(
                False
            )  # a null item: a chip row
    # never null: a null would drop the row from both paths (filter keeps neither null nor ~null);
    # when in doubt a row takes check's path, which decides or rejects every row it is given
    return good.select(slow.fill_null(True).alias("s"))["s"]


def decide_chunk(
    raw: pl.DataFrame,
    *,
    posture: str = "enforced",
    on: dt.date | None = None,
    source: str = "orders",
    duplicates: dict[int, int] | None = None,
    as_records: bool = False,
    unscreened: str | None = None,
) -> Result:
    """Decide a chunk of string rows (with a 1-based ``row`` column). ``as_records``: also the JSON
    records of `check` (``law.decide.records``), in row order, in ``Result.records``.
    ``unscreened``: why no party can be screened, when the caller knows it already
    (``screening.determination.unscreened``: no list loaded); the lists are not looked up."""
    from aiexport.engine.params import default_store
    from aiexport.law import overlays
    from aiexport.law.classify import _epochs

    n_in = raw.height
    good, rejects = validate(raw, source)
    if duplicates:
        dup = good.filter(pl.col("row").is_in(list(duplicates)))
        if dup.height:
            rejects = pl.concat(
                [
                    rejects,
                    dup.select(
                        pl.col("row").cast(pl.Int64),
                        "id",
                        pl.lit("id").alias("field"),
                        pl.format(
                            "a unique id (also used in row {})",
                            pl.col("row").replace_strict(duplicates, return_dtype=pl.Int64),
                        ).alias("expected"),
                        pl.col("id").alias("got"),
                    ),
                ]
            )
            good = good.filter(~pl.col("row").is_in(list(duplicates)))
    slow = _route(good)
    hits, screening = _screen(good, unscreened)
    slow = slow | hits
    per_row = good.filter(slow).select(raw.columns)
    recs: list[tuple[int, dict]] = []
    good = good.filter(~slow)
    parts: list[pl.DataFrame] = []

    if good.height:
        cols = good.columns
        chip = (
            pl.col("chip").str.strip_chars().replace("", None)
            if "chip" in cols
            else pl.lit(None, pl.String)
        )
        item = (
            pl.col("item").str.strip_chars().replace("", None)
            if "item" in cols
            else pl.lit(None, pl.String)
        )
        facts = [c for c, _ in FACT_COLUMNS.values()] + [
            c for c in cols if c.startswith("rf_")
        ]  # + stated reach facts
        frame = good.select(
            *typed(cols, on), *facts, "defaulted_facts", chip.alias("chip"), item.alias("item")
        )
        frame = frame.with_columns(
            _epochs(frame["date"], default_store(), posture).alias("__epoch")
        )
        keys = frame.select(*_KEY, "date", "row").unique(_KEY, keep="first", maintain_order=True)
        cls, bad = classified(keys, posture, source)
        if bad.height:
            hit = frame.join(bad, on=_KEY, how="inner", nulls_equal=True)
            rejects = pl.concat(
                [
                    rejects,
                    hit.select(pl.col("row").cast(pl.Int64), "id", "field", "expected", "got"),
                ]
            )
            frame = frame.join(bad.select(_KEY), on=_KEY, how="anti", nulls_equal=True)
        if frame.height:
            # the classification's reasons and rule set are read by nothing on this path (check's memo
            # reads them; its foundry step too, which batch leaves to check's path)
            frame = frame.join(
                cls.drop("item_reasons", "item_rule_set", strict=False),
                on=_KEY,
                how="left",
                nulls_equal=True,
            ).drop("chip", "item")
            frame, over = _refuse_overflow(frame, source)
            if over.height:
                rejects = pl.concat([rejects, over])
        if frame.height:
            if (
                "designer_hq_item" in frame.columns
            ):  # a stated designer headquarters wins over the catalog's
                frame = frame.with_columns(
                    pl.coalesce("designer_hq_stated", "designer_hq_item").alias("designer_hq")
                ).drop("designer_hq_item")
            # in any row order: the output is put in row order once, at the end
            decided = decide_frame(frame.drop("__epoch"), posture=posture, ordered=False)
            # issue 10: the same legal-reach step as check (fact defaults)
            from aiexport.law import reach_step

            decided = reach_step.apply(
                decided, posture=posture, ordered=False
            )  # row order is restored at the end
            # what the overlay, the output and check's records read: the ~100 trace columns of the
            # rules stay behind (filtering and concatenating them cost more than the overlay itself)
            decided = decided.select([c for c in _decided_columns() if c in decided.columns])
            decided = _overlay(decided, good, posture, overlays)
            parts.append(decided.select(_output_exprs()))
            if as_records:
                recs += _records(decided)
    n_slow = per_row.height
    if n_slow:
        d, r = _per_row(per_row, posture, on, source, recs if as_records else None)
        parts.append(d)
        rejects = pl.concat([rejects, r])
    decided = (
        pl.concat(parts, how="vertical_relaxed").sort("row")
        if parts
        else pl.DataFrame(schema=OUTPUT_SCHEMA)
    )
    return Result(
        decided.cast(OUTPUT_SCHEMA),
        rejects.cast(REJECT_SCHEMA).sort("row", maintain_order=True),
        n_in,
        n_slow,
        screened=screening.status,
        screening_note=_screening_note(screening),
        party_hits=int(hits.sum()),
        records=[r for _, r in sorted(recs, key=lambda x: x[0])] if as_records else None,
    )


@lru_cache(maxsize=1)
def _decided_columns() -> tuple[str, ...]:
    """The columns of a decided chunk read after the reach step: the output (``_output_exprs``),
    check's JSON records (``law.decide.RECORD_COLUMNS``, each read if present) and the GP10
    overlay (``law.overlays.apply``: the item, date, destination, parties, decision columns and,
    if present, ``item_needs``). A column missing from this list fails loudly (Polars raises on
    an unknown column) unless it is read only when present: those are all listed here."""
    from aiexport.law.decide import RECORD_COLUMNS

    overlay = (
        "row",
        "item_name",
        "date",
        "eccn",
        "paragraph",
        "to",
        "item_needs",
        "c_hq",
        "c_phq",
        "e_hq",
        "e_phq",
        "outcome",
        "license_exception",
        "review_policy",
        "obligations",
        "rules",
        "needs_facts",
    )
    output = [  # what _output_exprs reads, by Polars' own account
        c
        for e in _output_exprs()
        for c in (pl.col(e) if isinstance(e, str) else e).meta.root_names()
    ]
    return tuple(dict.fromkeys([*output, *overlay, *RECORD_COLUMNS]))


def _records(frame: pl.DataFrame) -> list[tuple[int, dict]]:
    """(row, the record of `check --format json`) for each row of a decided frame."""
    from aiexport.law.decide import records

    return list(zip(frame["row"].to_list(), records(frame), strict=True))


def _refuse_overflow(frame: pl.DataFrame, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose total TPP leaves exact arithmetic are rejected with check's message, never
    decided on a wrapped-around number (`app.decisions.refuse_overflow`)."""
    from aiexport.app.decisions import overflow_error, overflows

    flag = frame.select(overflows().alias("o"))["o"]
    if not flag.any():
        return frame, pl.DataFrame(schema=REJECT_SCHEMA)
    rows = []
    for r in frame.filter(flag).select("row", "id", "quantity", "system_tpp").iter_rows(named=True):
        e = overflow_error(source, r["row"], r)
        rows.append((r["row"], r["id"], e.column, e.expected, str(e.got)))
    return frame.filter(~flag), pl.DataFrame(rows, schema=REJECT_SCHEMA, orient="row")


PARTY_COLUMNS = [
    f"{role}_{f}"
    for role in ("consignee", "end_user")
    for f in ("name", "country", "headquarters", "ultimate_parent_headquarters", "ultimate_parent")
]


def _screen(good: pl.DataFrame, unscreened: str | None = None):
    """(True for rows whose parties match a restricted-party list entry, Screening): each distinct
    party tuple screened once, by `check`'s function, against the current lists (none when the
    caller knows why not: ``unscreened``)."""
    from types import SimpleNamespace

    from pydantic import ValidationError

    from aiexport.io.transactions import Party
    from aiexport.screening.determination import Screening, current, screen_transactions

    none = pl.Series("hit", [False] * good.height, dtype=pl.Boolean)
    cols = [c for c in PARTY_COLUMNS if c in good.columns]
    if good.height == 0:
        return none, Screening("nothing", "no rows to screen")
    if not any(c.endswith(("_name", "_ultimate_parent")) for c in cols):
        return none, Screening(
            "not_screened",
            "the order book names no party (consignee_name, end_user_name, *_ultimate_parent)",
        )
    if unscreened is not None:
        return none, Screening("not_screened", unscreened)
    index, ledger, info = current()
    if ledger is not None:
        ledger.close()
    if index is None:
        return none, info
    strip = [pl.col(c).str.strip_chars().replace("", None).alias(c) for c in cols]
    keys = good.select(strip).unique(maintain_order=True)
    objs, unreadable = [], []
    for r in keys.iter_rows(named=True):
        parties = {}
        try:
            for role in ("consignee", "end_user"):
                fields = {
                    c[len(role) + 1 :]: v
                    for c, v in r.items()
                    if c.startswith(role + "_") and v is not None
                }
                parties[role] = Party(**fields) if fields else None
        except ValidationError:  # check's path reports the bad party
            unreadable.append(len(objs))
            parties = {"consignee": None, "end_user": None}
        objs.append(SimpleNamespace(**parties))
    screens, info = screen_transactions(objs)
    hit = [any(s.matches for s in ps) for ps in screens]
    for i in unreadable:
        hit[i] = True
    keys = keys.with_columns(pl.Series("__hit", hit, dtype=pl.Boolean))
    flags = good.select(strip).join(
        keys, on=cols, how="left", nulls_equal=True, maintain_order="left"
    )["__hit"]
    return flags.fill_null(True).alias("hit"), info


def _screening_note(info) -> str:
    if info.status == "screened":
        return ", ".join(
            f"{v.get('source')} {v.get('published') or ''}".strip() for v in info.lists
        )
    return info.reason


def _overlay(decided: pl.DataFrame, good: pl.DataFrame, posture: str, overlays) -> pl.DataFrame:
    """GP10: `overlays.apply` over the rows it could change only (named by one of
    ``overlays.gp10_queries``, or with a GP10 fact stated)."""
    from aiexport.engine.params import default_store

    store_queries = overlays.gp10_queries(default_store())
    names = decided["item_name"].unique().to_list()
    named = [n for n in names if n and any(overlays.names_match(q, n) for q in store_queries)]
    fact_cols = [f"fact_{f}" for f in OVERLAY_FACTS if f"fact_{f}" in good.columns]
    cond = pl.col("item_name").is_in(named)
    facts_frame = None
    if fact_cols:
        facts_frame = good.select("row", *fact_cols)
        stated = facts_frame.filter(
            pl.any_horizontal(
                [pl.col(c).str.strip_chars().replace("", None).is_not_null() for c in fact_cols]
            )
        )["row"]
        cond = cond | pl.col("row").is_in(stated.implode())
    hit = decided.select(cond.alias("hit"))["hit"]
    if not hit.any():
        return decided
    sub = decided.filter(hit)
    facts = (
        pl.DataFrame()
        if facts_frame is None
        else sub.select("row").join(facts_frame, on="row", how="left", maintain_order="left")
    )
    changed = overlays.apply(sub, facts, posture=posture)
    # the rows it visited, as it left them, next to the others (row order is restored at the end)
    return pl.concat(
        [decided.filter(~hit), changed.select(decided.columns)], how="vertical_relaxed"
    )


def _output_exprs() -> list[pl.Expr]:
    # as check: the exact product, divided exactly (float division by 10^6 can be off in the last place)
    total = (
        (pl.col("system_tpp") * pl.col("quantity"))
        .cast(pl.Decimal(38, 6))
        .truediv(MICRO)
        .cast(pl.Float64)
    )
    return [
        pl.col("row").cast(pl.Int64),
        "id",
        "date",
        "outcome",
        "eccn",
        "paragraph",
        pl.col("item_name").alias("item"),
        "quantity",
        total.alias("total_tpp"),
        "from",
        pl.col("to_stated").alias("to"),
        "license_exception",
        "review_policy",
        "obligations",
        "needs_facts",
        "rules",
        "posture",
        "rule_set",
    ]


def _per_row(
    rows: pl.DataFrame, posture: str, on, source: str, recs: list | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """check's own path (Pydantic + `app.decisions.decide_checked`: the VEU authorizations on record,
    the restricted-party screening, the overflow refusal) for the rows that need it."""
    from aiexport.app.decisions import decide_checked
    from aiexport.errors import InputErrors
    from aiexport.io.transactions import _from_flat, parse

    numbers = rows["row"].to_list()
    data = [
        _from_flat({k: v for k, v in r.items() if k != "row"}) for r in rows.iter_rows(named=True)
    ]
    txs, errors, idx = parse(data, source)
    ids = rows["id"].to_list() if "id" in rows.columns else [None] * rows.height
    rejects = [
        (
            numbers[e.row - 1],
            ids[e.row - 1],
            e.column,
            e.expected,
            None if e.got is None else str(e.got),
        )
        for e in errors
    ]
    accepted = [numbers[i - 1] for i in idx]
    decided = None
    while txs:
        try:
            frame = decide_checked(txs, accepted, source, on, posture).with_columns(
                pl.Series("row", accepted, dtype=pl.Int64)
            )
            decided = frame.select(_output_exprs())
            if recs is not None:
                recs += _records(frame)
            break
        except (InputError, InputErrors) as exc:
            for e in exc.errors if isinstance(exc, InputErrors) else [exc]:
                if e.row not in accepted:
                    raise
                k = accepted.index(e.row)
                rejects.append(
                    (e.row, txs[k].id, e.column, e.expected, None if e.got is None else str(e.got))
                )
                del txs[k], accepted[k]
    rej = pl.DataFrame(rejects, schema=REJECT_SCHEMA, orient="row")
    if decided is None:
        decided = pl.DataFrame(schema=OUTPUT_SCHEMA)
    return decided.cast(OUTPUT_SCHEMA), rej
