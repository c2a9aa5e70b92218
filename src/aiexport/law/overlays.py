"""Overlays applied after the chip determination: General Prohibition 10 (PRC 3A090 ICs) and
notices (is-informed letters, company-specific conditions) that are not in the CFR.

An overlay can only make an outcome stricter (LICENSE_REQUIRED) and adds its own rule id and
citation; it never loosens what the CFR rules decided.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
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


def apply(frame: pl.DataFrame, facts: list[dict], *, posture: str, notices: list[Notice] | None = None,
          store: ParameterStore | None = None) -> pl.DataFrame:
    """GP10 and enabled notices over a decided chip frame (same row order as ``facts``)."""
    store = store or default_store()
    active = [n for n in (notices or []) if n.enabled]
    gp10 = store.parameter("gp10_prc_ic_presumption")
    gp10_since = gp10.values[0].since
    names = frame["item_name"].to_list()
    dates = frame["date"].to_list()
    eccns = frame["eccn"].to_list()
    vendors_hist = store.parameter("d5_headquartered_chip_developers")
    named_hist = store.parameter("gp10_named_ics")
    # Only rows whose chip could be named (by the guidance, a D:5 vendor or a notice) or whose
    # facts speak to GP10 can change; decide that per distinct name, then visit those rows only.
    queries = {q for v in named_hist.values for q in (v.value or [])}
    queries |= {q for v in vendors_hist.values for q in (v.value or [])}
    # designers.yaml: every designer headquartered in D:5/Macau (Enflame, Iluvatar CoreX, MetaX, ...)
    designers = {str(k): str(v) for k, v in (store.parameter("ic_designer_headquarters").values[-1].value or {}).items()}
    queries |= set(designers)
    queries |= {c for n in active for c in n.chips}
    named_rows = {nm for nm in set(names) if any(names_match(q, nm or "") for q in queries)}
    candidates = [
        i for i, (nm, f) in enumerate(zip(names, facts, strict=True))
        if nm in named_rows or "developed_by_d5_or_macau_entity" in f or "gp10_technical_evaluation" in f
    ]
    updates: dict[int, dict] = {}

    @cache
    def on_day(day):
        """What GP10 reads on a day (a book has many rows per day: read each day once)."""
        if not getattr(gp10.at(day, posture), "value", False):
            return None
        d5mo = snapshot(day).group("D:5") | {"MO"}
        vendors = list(vendors_hist.at(day, posture).value or []) + [v for v, hq in designers.items() if hq in d5mo]
        return named_hist.at(day, posture).value or [], vendors

    @cache
    def snapshot(day):
        return store.snapshot(day, posture)

    @cache
    def groups_on(day):
        p = snapshot(day)
        return p, {g: p.group(g) for g in ("D:1", "D:4", "D:5", "A:5", "A:6", "Tier1")}

    @cache
    def named_on(day, name):
        """The IC is named by the guidance, or made by a D:5/Macau vendor or designer, on the day."""
        named, vendors = on_day(day)
        return any(names_match(q, name or "") for q in named) or any(names_match(v, name or "") for v in vendors)

    for i in candidates:
        name, day, eccn = names[i], dates[i], eccns[i]
        f = facts[i]
        # GP10: 3A090-level ICs developed or produced by D:5/Macau-headquartered entities
        if day >= gp10_since and eccn in ("3A090.a", "3A090.b", "4A090.a", "4A090.b") and on_day(day) is not None:
            named, vendors = on_day(day)
            stated = f.get("developed_by_d5_or_macau_entity")
            # a stated "yes" adds an IC; the guidance's presumption for named ICs and D:5 vendors stays
            flagged = bool(yes_no(stated, ValueError)) or named_on(day, name)
            if flagged:
                if yes_no(f.get("gp10_technical_evaluation"), ValueError):
                    updates.setdefault(i, {}).setdefault("note_rules", []).append("GP10.technical-evaluation")
                else:
                    updates.setdefault(i, {})["gp10"] = True
        for n in active:
            if not (n.start <= day and (n.until is None or day <= n.until)):
                continue
            if not any(names_match(c, name or "") for c in n.chips):
                continue
            updates.setdefault(i, {}).setdefault("notices", []).append(n)
    if not updates:
        return frame
    # Read and rewrite only the affected rows.
    idx = sorted(updates)
    sub = frame[idx]
    cols = {c: sub[c].to_list() for c in ("outcome", "license_exception", "review_policy", "obligations", "rules", "needs_facts")}
    to = sub["to"].to_list()
    paragraphs = sub["paragraph"].to_list()
    item_needs = sub["item_needs"].to_list() if "item_needs" in sub.columns else [[] for _ in idx]
    hqs = [sub[c].to_list() for c in ("c_hq", "c_phq", "e_hq", "e_phq")]
    for k, i in enumerate(idx):
        u = updates[i]
        day = dates[i]
        p, groups = groups_on(day)
        rules = list(cols["rules"][k])
        obligations = list(cols["obligations"][k])
        outcome = cols["outcome"][k]
        policy = cols["review_policy"][k]
        stricter = False
        rules += u.get("note_rules", [])
        # GP10 decides whatever an open exception fact says; an open item fact (is it 3A090?) stays open.
        if u.get("gp10") and (outcome != "NEEDS_FACTS" or not item_needs[k]):
            stricter = True
            rules.append("GP10")
            obligations.append(GP10_OBLIGATION)
            # No source states a review policy for a GP10 authorization (never "approval"); a
            # presumption of denial that the license requirement already carries stays.
            policy = policy if (outcome == "LICENSE_REQUIRED" and policy == "denial") else p.value("gp10_review_policy")
            if policy is None:
                obligations.append(GP10_NO_POLICY)
        for n in u.get("notices", []):
            dest_hit = _in(to[k], n.destinations, groups)
            hq_hit = any(_in(h[k], n.headquarters, groups) for h in hqs)
            if not (dest_hit or hq_hit) or to[k] == "US":
                continue
            ph = n.phase(day)
            stricter = True
            rules.append(n.rule)
            obligations.append(f"Notice {n.id} ({n.status}; not in the CFR): {n.title} — {n.cite}")
            obligations += list(ph.get("obligations") or [])
            if outcome != "LICENSE_REQUIRED" and not u.get("gp10"):
                policy = ph.get("review_policy") or policy or "case-by-case"
        if stricter:
            if outcome != "LICENSE_REQUIRED":  # the rules that decided NLR / an exception no longer determine it
                added = [r for r in rules if r not in cols["rules"][k]]
                rules = [x for x in [paragraphs[k]] if x] + added
            cols["outcome"][k] = "LICENSE_REQUIRED"
            cols["needs_facts"][k] = []  # a notice naming the chip requires a license whatever the open facts
            cols["license_exception"][k] = None
            cols["review_policy"][k] = policy
            if outcome == "LICENSE_EXCEPTION":
                obligations = [o for o in obligations if not o.startswith(("Notify BIS", "Hold a written", "Obtain the certification", "Use only", "Meet the conditions", "LPP:", "Earliest"))]
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
