"""Overlays applied after the chip determination: General Prohibition 10 (PRC 3A090 ICs) and
notices (is-informed letters, company-specific conditions) that are not in the CFR.

An overlay can only make an outcome stricter (LICENSE_REQUIRED) and adds its own rule id and
citation; it never loosens what the CFR rules decided.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from aiexport.engine.params import ParameterStore, default_store
from aiexport.errors import InputError
from aiexport.io.files import read_document
from aiexport.law.facts import yes_no
from aiexport.law.license import Rule

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule("GP10", "15 CFR 736.2(b)(10); BIS guidance on GP10 and PRC advanced-computing ICs (2025-05-13)",
             "a 3A090 IC developed or produced by an entity in, or headquartered in, D:5 or Macau (e.g. Huawei Ascend 910B/C/D) is presumed "
             "made in violation of the EAR: any dealing (use, sale, transfer, financing, servicing) needs BIS authorization; no license exception"),
        Rule("GP10.technical-evaluation", "BIS GP10 guidance (2025-05-13)",
             "acquisition only for technical evaluation or destructive testing will not lead to enforcement"),
    ]
}
GP10_OBLIGATION = ("GP10 (§736.2(b)(10)): any dealing in this IC — use, sale, transfer, financing, servicing — needs a separate "
                   "BIS authorization; no license exception applies (BIS guidance 2025-05-13)")
GP10_NO_POLICY = ("Review policy: none stated — neither the GP10 guidance (2025-05-13) nor §736.2(b)(10) gives one for a GP10 "
                  "authorization; do not assume a presumption of approval")
def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", (text or "").lower())


@cache
def names_match(query: str, name: str) -> bool:
    """Every token of ``query`` is a token of ``name`` ('H20' matches 'NVIDIA H20 HGX', not 'H200')."""
    q, n = _tokens(query), set(_tokens(name))
    return bool(q) and all(t in n for t in q)


# ---- notices ----------------------------------------------------------------------------------

@dataclass
class Notice:
    id: str
    title: str
    status: str
    cite: str
    start: dt.date
    until: dt.date | None
    chips: list[str]
    destinations: list[str]
    headquarters: list[str]
    phases: list[dict] = field(default_factory=list)
    enabled: bool = False
    source: str = ""

    @property
    def rule(self) -> str:
        return f"notice:{self.id}"

    def phase(self, on: dt.date) -> dict:
        current: dict = {}
        for ph in self.phases:
            if ph["from"] <= on:
                current = ph
        return current


def _date(v: Any, where: str, key: str) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise InputError(where, None, key, "a date YYYY-MM-DD", v) from None


def parse_notice(data: Any, where: str, row: int | None = None) -> Notice:
    if not isinstance(data, dict):
        raise InputError(where, row, None, "a notice mapping {id, title, status, cite, from, applies_to, ...}", data)
    for key in ("id", "cite", "from", "applies_to"):
        if not data.get(key):
            raise InputError(where, row, key, "a value (every notice needs id, cite, from and applies_to)", data.get(key))
    status = str(data.get("status") or "reported")
    if status not in ("reported", "official", "company-specific"):
        raise InputError(where, row, "status", "reported, official or company-specific", status)
    applies = data["applies_to"]
    if not isinstance(applies, dict) or not (applies.get("chips")):
        raise InputError(where, row, "applies_to.chips", "a list of chip names the notice covers", applies)
    phases = []
    for j, ph in enumerate(data.get("phases") or []):
        if not isinstance(ph, dict) or "from" not in ph:
            raise InputError(where, row, f"phases[{j}]", "{from, review_policy, obligations}", ph)
        pol = ph.get("review_policy")
        if pol not in (None, "denial", "case-by-case", "approval"):
            raise InputError(where, row, f"phases[{j}].review_policy", "denial, case-by-case or approval", pol)
        phases.append({**ph, "from": _date(ph["from"], where, f"phases[{j}].from")})
    return Notice(
        id=str(data["id"]), title=str(data.get("title") or data["id"]), status=status, cite=str(data["cite"]),
        start=_date(data["from"], where, "from"), until=_date(data.get("until"), where, "until"),
        chips=[str(c) for c in applies.get("chips") or []],
        destinations=[str(c) for c in applies.get("destinations") or []],
        headquarters=[str(c) for c in applies.get("headquarters") or []],
        phases=sorted(phases, key=lambda ph: ph["from"]), enabled=bool(data.get("enabled", False)), source=where,
    )


@cache
def bundled_notices() -> tuple[Notice, ...]:
    folder = Path(str(resources.files("aiexport.law") / "notices"))
    out = []
    for path in sorted(folder.glob("*.yaml")):
        out.append(parse_notice(yaml.safe_load(path.read_text(encoding="utf-8")), path.name))
    return tuple(out)


def load_notices(path: Path) -> list[Notice]:
    """User notices (YAML: one mapping or a list). Each is enabled unless it says `enabled: false`."""
    data = read_document(path)
    items = data if isinstance(data, list) else [data]
    out = []
    for n, d in enumerate(items, start=1):
        if isinstance(d, dict):
            d = {"enabled": True, **d}
        out.append(parse_notice(d, str(path), n if isinstance(data, list) else None))
    return out


def bundled_notice(notice_id: str) -> Notice:
    for n in bundled_notices():
        if n.id == notice_id:
            return n
    raise InputError("command line", None, "--notice", "a bundled notice id: " + ", ".join(n.id for n in bundled_notices()), notice_id)


# ---- the overlay pass -------------------------------------------------------------------------

def _in(code: str | None, targets: list[str], groups: dict[str, frozenset[str]]) -> bool:
    if code is None:
        return False
    for t in targets:
        if ":" in t or t.startswith("Tier"):
            if code in groups.get(t, frozenset()):
                return True
        elif code == t:
            return True
    return False


GP10_ECCNS = ("3A090.a", "3A090.b", "4A090.a", "4A090.b")
GP10_FACTS = ("developed_by_d5_or_macau_entity", "gp10_technical_evaluation")
# obligations of a licence exception, dropped when an overlay makes the outcome a licence
_EXCEPTION_OBLIGATIONS = ("Notify BIS", "Hold a written", "Obtain the certification", "Use only", "Meet the conditions",
                          "LPP:", "Earliest")
_EMPTY = pl.lit([], dtype=pl.List(pl.String))


def apply(frame: pl.DataFrame, facts: list[dict] | pl.DataFrame, *, posture: str, notices: list[Notice] | None = None,
          store: ParameterStore | None = None) -> pl.DataFrame:
    """GP10 and enabled notices over a decided chip frame. ``facts``: each row's stated facts (a
    dict per row, in the frame's order), or a frame of the GP10 facts' text (columns
    ``fact_<name>``, one row per row of ``frame``)."""
    store = store or default_store()
    out = gp10(frame, *_gp10_stated(facts, frame.height), posture=posture, store=store)
    active = [n for n in (notices or []) if n.enabled]
    if active:
        out = _notices(frame, out, active, posture=posture, store=store)
    return out.drop("__gp10", "__gp10_added")


def _gp10_stated(facts: list[dict] | pl.DataFrame, height: int) -> list[pl.Series]:
    """The GP10 facts as Booleans (``yes_no``; null when not stated), one Series per fact."""
    out = []
    for name in GP10_FACTS:
        if isinstance(facts, pl.DataFrame):
            col = f"fact_{name}"
            if col not in facts.columns:
                out.append(pl.Series(name, [None] * height, dtype=pl.Boolean))
                continue
            text = facts[col].cast(pl.String).str.strip_chars().replace("", None)
            read = {v: yes_no(v, ValueError) for v in text.drop_nulls().unique().to_list()}  # each text once
            out.append(text.replace_strict(read, default=None, return_dtype=pl.Boolean).alias(name))
        else:
            values = [f.get(name) for f in facts]
            out.append(pl.Series(name, [None if v in (None, "") else yes_no(v, ValueError) for v in values],
                                 dtype=pl.Boolean))
    return out


@lru_cache(maxsize=8)  # (it holds its stores: a reform's of the policy lab lives on until evicted)
def gp10_queries(store: ParameterStore) -> tuple[str, ...]:
    """Every name by which GP10 could reach an item on some day: the ICs the guidance names, the
    D:5 chip developers, and each designer of designers.yaml headquartered in a country that is in
    D:5, or is Macau, in some version of the group (``gp10`` reads the group of the day). An item
    whose name matches none (``names_match``) and whose facts say nothing of GP10 is never changed
    by it. (Listing every designer, as this did, made every chunk's every row go through ``gp10``:
    NVIDIA, AMD and Intel name most chips.)"""
    q = {x for name in ("gp10_named_ics", "d5_headquartered_chip_developers")
         for v in store.parameter(name).values for x in (v.value or [])}
    ever_d5 = {c for v in store.parameter("group:D:5").values for c in v.value} | {"MO"}
    q |= {str(k) for v in store.parameter("ic_designer_headquarters").values
          for k, hq in (v.value or {}).items() if str(hq) in ever_d5}
    return tuple(sorted(q))


def gp10(frame: pl.DataFrame, d5_stated: pl.Series, evaluation_stated: pl.Series, *, posture: str,
         store: ParameterStore) -> pl.DataFrame:
    """General Prohibition 10 over a decided chip frame, as columns (§736.2(b)(10); BIS guidance of
    2025-05-13): a 3A090-level IC developed or produced by an entity in, or headquartered in, D:5
    or Macau needs a licence for any dealing. Such an IC: named by the guidance or made by a D:5
    vendor or designer on the day (``names_match``), or stated so (``d5_stated``). A stated
    technical evaluation (``evaluation_stated``) is not enforced against (a note, not a licence).
    Adds ``__gp10`` (GP10 reaches the row) and ``__gp10_added`` (the rules it appended), which the
    notices read. What depends on the day is read once per distinct day, the name matches once
    per distinct name and set of names."""
    gp = store.parameter("gp10_prc_ic_presumption")
    since = gp.values[0].since
    vendors_hist = store.parameter("d5_headquartered_chip_developers")
    named_hist = store.parameter("gp10_named_ics")
    # designers.yaml: every designer headquartered in D:5/Macau (Enflame, Iluvatar CoreX, MetaX, ...)
    designers = {str(k): str(v) for k, v in (store.parameter("ic_designer_headquarters").values[-1].value or {}).items()}
    names_by_key: dict[tuple, int] = {}  # (named ICs, vendors) -> a key
    on_day: dict = {}  # day -> (key, the review policy of a GP10 authorization)
    for day in frame["date"].unique().to_list():
        if day is None or day < since or not getattr(gp.at(day, posture), "value", False):
            continue
        p = store.snapshot(day, posture)
        d5mo = p.group("D:5") | {"MO"}
        vendors = list(vendors_hist.at(day, posture).value or []) + [v for v, hq in designers.items() if hq in d5mo]
        key = names_by_key.setdefault((tuple(named_hist.at(day, posture).value or []), tuple(vendors)), len(names_by_key))
        on_day[day] = (key, p.value("gp10_review_policy"))
    if not on_day:  # GP10 in force on none of the frame's days: no row changes
        return _gp10_untouched(frame)
    names = [n for n in frame["item_name"].unique().to_list() if n]
    named = pl.lit(False)
    for (ics, vendors), key in names_by_key.items():
        hits = [n for n in names if any(names_match(q, n) for q in ics) or any(names_match(v, n) for v in vendors)]
        if hits:
            named = named | ((pl.col("__gp10_key") == key) & pl.col("item_name").is_in(hits))
    day = pl.col("date")
    frame = frame.with_columns(
        day.replace_strict({d: k for d, (k, _) in on_day.items()}, default=None, return_dtype=pl.Int64).alias("__gp10_key"),
        day.replace_strict({d: pol for d, (_, pol) in on_day.items()}, default=None, return_dtype=pl.String)
        .alias("__gp10_policy"),
        d5_stated.alias("__gp10_d5"),
        evaluation_stated.alias("__gp10_evaluation"),
    )
    OUT, policy = pl.col("outcome"), pl.col("review_policy")
    flagged = (
        pl.col("__gp10_key").is_not_null()
        & pl.col("eccn").is_in(GP10_ECCNS).fill_null(False)
        & (pl.col("__gp10_d5").fill_null(False) | named)
    )
    if not frame.select(flagged.any()).item():  # (one decision of another maker's chip, most often)
        return _gp10_untouched(frame.drop("__gp10_key", "__gp10_policy", "__gp10_d5", "__gp10_evaluation"))
    evaluation = flagged & pl.col("__gp10_evaluation").fill_null(False)
    item_open = (pl.col("item_needs").list.len() > 0).fill_null(False) if "item_needs" in frame.columns else pl.lit(False)
    frame = frame.with_columns(
        (flagged & ~evaluation).alias("__gp10"),
        evaluation.alias("__gp10_note"),
    ).with_columns(
        # GP10 decides whatever an open exception fact says; an open item fact (is it 3A090?) stays open
        (pl.col("__gp10") & ((OUT != "NEEDS_FACTS") | ~item_open)).alias("__gp10_stricter"),
    )
    stricter = pl.col("__gp10_stricter")
    # no source states a review policy for a GP10 authorization (never "approval"); a presumption
    # of denial that the licence requirement already carries stays
    new_policy = (
        pl.when((OUT == "LICENSE_REQUIRED") & (policy == "denial")).then(policy).otherwise(pl.col("__gp10_policy"))
    )
    paragraph = (
        pl.when(pl.col("paragraph").is_not_null() & (pl.col("paragraph") != ""))
        .then(pl.concat_list([pl.col("paragraph")]))
        .otherwise(_EMPTY)
    )
    gp10_rule = pl.when(pl.col("rules").list.contains("GP10")).then(_EMPTY).otherwise(pl.lit(["GP10"]))
    kept = (
        pl.when(OUT == "LICENSE_EXCEPTION")
        .then(pl.col("obligations").list.eval(
            pl.element().filter(~pl.any_horizontal([pl.element().str.starts_with(x) for x in _EXCEPTION_OBLIGATIONS]))
        ))
        .otherwise(pl.col("obligations"))
    )
    frame = frame.with_columns(
        pl.when(stricter)
        .then(pl.lit(["GP10"]))
        .when(pl.col("__gp10_note"))
        .then(pl.lit(["GP10.technical-evaluation"]))
        .otherwise(_EMPTY)
        .alias("__gp10_added")
    )
    return frame.with_columns(
        pl.when(stricter & (OUT != "LICENSE_REQUIRED"))  # the rules that decided NLR / an exception no longer determine it
        .then(pl.concat_list([paragraph, gp10_rule]))
        .otherwise(pl.concat_list([pl.col("rules"), pl.col("__gp10_added")]))
        .alias("rules"),
        pl.when(stricter)
        .then(pl.concat_list([
            kept,
            pl.lit([GP10_OBLIGATION]),
            pl.when(new_policy.is_null()).then(pl.lit([GP10_NO_POLICY])).otherwise(_EMPTY),
        ]))
        .otherwise(pl.col("obligations"))
        .alias("obligations"),
        pl.when(stricter).then(pl.lit("LICENSE_REQUIRED")).otherwise(OUT).alias("outcome"),
        pl.when(stricter).then(_EMPTY).otherwise(pl.col("needs_facts")).alias("needs_facts"),
        pl.when(stricter).then(pl.lit(None, pl.String)).otherwise(pl.col("license_exception")).alias("license_exception"),
        pl.when(stricter).then(new_policy).otherwise(policy).alias("review_policy"),
    ).drop("__gp10_key", "__gp10_policy", "__gp10_d5", "__gp10_evaluation", "__gp10_note", "__gp10_stricter")


def _gp10_untouched(frame: pl.DataFrame) -> pl.DataFrame:
    """``gp10``'s output for a frame it reaches nowhere: the rows as they are, with ``__gp10``
    false and nothing in ``__gp10_added``."""
    return frame.with_columns(pl.lit(False).alias("__gp10"), _EMPTY.alias("__gp10_added"))


def _notices(before: pl.DataFrame, frame: pl.DataFrame, active: list[Notice], *, posture: str,
             store: ParameterStore) -> pl.DataFrame:
    """Enabled notices over ``frame`` (the decided rows after GP10; ``before``: the same rows
    before it), row by row over the rows whose chip a notice names (``check --notice``)."""
    names = frame["item_name"].to_list()
    named_rows = {nm for nm in set(names) if any(names_match(c, nm or "") for n in active for c in n.chips)}
    dates = frame["date"].to_list()
    updates: dict[int, list[Notice]] = {}
    for i, name in enumerate(names):
        if name not in named_rows:
            continue
        day = dates[i]
        for n in active:
            if n.start <= day and (n.until is None or day <= n.until) and any(names_match(c, name or "") for c in n.chips):
                updates.setdefault(i, []).append(n)
    if not updates:
        return frame

    @cache
    def groups_on(day):
        p = store.snapshot(day, posture)
        return {g: p.group(g) for g in ("D:1", "D:4", "D:5", "A:5", "A:6", "Tier1")}

    idx = sorted(updates)
    sub, was = frame[idx], before[idx]
    cols = {c: sub[c].to_list() for c in ("outcome", "license_exception", "review_policy", "obligations", "rules", "needs_facts")}
    outcomes_before, rules_before = was["outcome"].to_list(), was["rules"].to_list()
    gp10_rows, gp10_added = sub["__gp10"].to_list(), sub["__gp10_added"].to_list()
    to = sub["to"].to_list()
    paragraphs = sub["paragraph"].to_list()
    hqs = [sub[c].to_list() for c in ("c_hq", "c_phq", "e_hq", "e_phq")]
    for k, i in enumerate(idx):
        day = dates[i]
        groups = groups_on(day)
        rules = list(rules_before[k]) + list(gp10_added[k])  # the CFR rules' and GP10's, in order
        obligations = list(cols["obligations"][k])
        outcome = outcomes_before[k]  # the CFR rules' outcome, before GP10
        policy = cols["review_policy"][k]
        stricter = False
        for n in updates[i]:
            dest_hit = _in(to[k], n.destinations, groups)
            hq_hit = any(_in(h[k], n.headquarters, groups) for h in hqs)
            if not (dest_hit or hq_hit) or to[k] == "US":
                continue
            ph = n.phase(day)
            stricter = True
            rules.append(n.rule)
            obligations.append(f"Notice {n.id} ({n.status}; not in the CFR): {n.title} — {n.cite}")
            obligations += list(ph.get("obligations") or [])
            if outcome != "LICENSE_REQUIRED" and not gp10_rows[k]:
                policy = ph.get("review_policy") or policy or "case-by-case"
        if not stricter:
            continue
        if outcome != "LICENSE_REQUIRED":  # the rules that decided NLR / an exception no longer determine it
            added = [r for r in rules if r not in rules_before[k]]
            rules = [x for x in [paragraphs[k]] if x] + added
        cols["outcome"][k] = "LICENSE_REQUIRED"
        cols["needs_facts"][k] = []  # a notice naming the chip requires a license whatever the open facts
        cols["license_exception"][k] = None
        cols["review_policy"][k] = policy
        if outcome == "LICENSE_EXCEPTION":
            obligations = [o for o in obligations if not o.startswith(_EXCEPTION_OBLIGATIONS)]
        cols["rules"][k] = rules
        cols["obligations"][k] = obligations
    return write_back(frame, idx, cols)


_DECISION_DTYPES = {
    "outcome": pl.String,
    "license_exception": pl.String,
    "review_policy": pl.String,
    "obligations": pl.List(pl.String),
    "rules": pl.List(pl.String),
    "needs_facts": pl.List(pl.String),
}


def _series(values: list, dtype: pl.DataType) -> pl.Series:
    """``pl.Series(values, dtype=dtype)``; a list column is built from its distinct lists and
    gathered (a book's rows repeat the same rule and obligation lists, and turning each Python
    list into Polars is what costs)."""
    if not isinstance(dtype, pl.List):
        return pl.Series(values, dtype=dtype)
    distinct: dict[tuple | None, int] = {}  # a null list stays null
    codes = [distinct.setdefault(None if v is None else tuple(v), len(distinct)) for v in values]
    return pl.Series([None if v is None else list(v) for v in distinct], dtype=dtype).gather(codes)


def write_back(frame: pl.DataFrame, idx: list[int], cols: dict[str, list]) -> pl.DataFrame:
    """Replace the decision columns of rows `idx` (positions) with `cols` (one list per column)."""
    changed = pl.DataFrame(
        {"__i": pl.Series(idx, dtype=pl.UInt32)}
        | {c: _series(cols[c], t) for c, t in _DECISION_DTYPES.items()}
    )
    return frame.with_row_index("__i").update(changed, on="__i", include_nulls=True).drop("__i")
