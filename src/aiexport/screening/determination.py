"""Screening feeds the determination: a tighten-only overlay applied after the licence decision
(the pattern of ``law/overlays.py``). ``check`` screens the consignee, the end user and their
ultimate parents (``ultimate_parent`` name) against the current lists.

Per party and list entry (a match at or above the threshold):

* **undisposed** potential match → never NLR: ``NEEDS_FACTS`` naming the entry (rule
  ``screening.potential-match``); a LICENSE_REQUIRED stays LICENSE_REQUIRED and notes the open match.
* **false positive** (disposition holding for this entry version) → no effect.
* **confirmed** — by an officer's disposition, or an **exact** match (the party's normalised name
  is one of the entry's names token for token and no country contradicts it), which counts as
  confirmed until an officer disposes of it as a false positive →

  - **EL** (rule ``744.11``): LICENSE_REQUIRED whatever the item's ECCN when the entry's licence
    requirement covers "all items subject to the EAR"; a narrower requirement (e.g. items in
    Supp. 2 to Part 744, projects in §746.8(a)(4)) → NEEDS_FACTS (is the item in the entry's
    scope?). Review policy from the entry's ``license_policy`` (presumption/policy of denial →
    ``denial``; case-by-case; approval); when the list file carries none (the BIS CSL export
    leaves it blank), no policy is inferred and an obligation says to read the entry. No licence
    exception (§744.11(a)). Footnotes 1/3/4/5 add their foreign-direct-product consequence.
  - **DPL** (rule ``764.3``): the export is prohibited — LICENSE_REQUIRED, review policy
    ``denial``, with the obligation that no one may participate in the transaction (the denial
    order's terms; BIS does not license around a denial order in practice).
  - **MEU** (rule ``744.21``): LICENSE_REQUIRED, review policy ``denial`` (§744.21(e)); aiexport
    does not check whether the item is in Supp. 2 to Part 744 (for Russia and Belarus the MEU
    requirement covers all items subject to the EAR): the overlay assumes it is (tighten-only).
  - **UVL** (rule ``744.15``): licence exceptions are unavailable (§744.15(a)) — a
    LICENSE_EXCEPTION becomes LICENSE_REQUIRED; an NLR export needs a UVL statement from the
    party before it leaves (§744.15(b)) — NEEDS_FACTS unless the fact ``uvl_statement_obtained``
    says yes (not modelled as a stored fact yet: always asked); EEI filing is an obligation.
  - **SDN** (rule ``OFAC``): the party is blocked; dealings are prohibited by OFAC's regulations
    (31 CFR Chapter V). That is outside the EAR: aiexport marks LICENSE_REQUIRED with an OFAC
    licence obligation and does not model OFAC licensing, general licences, the 50 % rule or the
    EAR's own §744.8 requirement for some SDN programmes.
  - any other list (ISN, FSE, SSI, CMIC, DTC, …) → NEEDS_FACTS: not modelled, read the programme.

When no list is loaded, nothing changes and the run says the parties were **not screened**
(stderr, and the memo) — never "clear".
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from aiexport.law.license import Rule
from aiexport.screening.match import THRESHOLD

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule("744.11", "15 CFR 744.11; Supp. No. 4 to Part 744 (Entity List)",
             "a license is required for the items the entry's license requirement names (for most entries: all items subject "
             "to the EAR), whatever the item's ECCN; no license exception; review policy as stated in the entry"),
        Rule("764.3", "15 CFR 764.3(a)(2), Part 764 (Denied Persons List)",
             "a denial order: no person may participate in an export, reexport or transfer to or from a denied person"),
        Rule("744.21", "15 CFR 744.21 (Military End-User List, Supp. No. 7 to Part 744)",
             "a license is required for items in Supp. No. 2 to Part 744 (for Russia and Belarus, all items subject to the EAR) "
             "to a listed military end user; presumption of denial (744.21(e))"),
        Rule("744.15", "15 CFR 744.15 (Unverified List, Supp. No. 6 to Part 744)",
             "no license exception may be used; for exports not requiring a license, a UVL statement must be obtained from the "
             "party before the export; EEI must be filed (758.1(b)(8))"),
        Rule("OFAC", "31 CFR Chapter V (OFAC SDN List; blocking); outside the EAR",
             "the party's property and interests are blocked; U.S. persons may not deal with it without an OFAC license"),
        Rule("screening.potential-match", "aiexport screening (issue 8); 15 CFR 744 / Part 764 / 31 CFR Chapter V",
             "a party's name matches a restricted-party list entry and no officer has disposed of the match: resolve it before "
             "shipping (aiexport disposition add)"),
        Rule("screening.other-list", "the list's own authority (State ISN, OFAC non-SDN, DoD, DDTC …)",
             "a confirmed match on a list whose consequences aiexport does not model"),
    ]
}
RULE_OF_LIST = {"EL": "744.11", "DPL": "764.3", "MEU": "744.21", "UVL": "744.15", "SDN": "OFAC"}
FDP = {
    "1": "Entity List footnote 1: foreign-produced items may be subject to the EAR under §734.9(e)(1) (Huawei FDP rule)",
    "3": "Entity List footnote 3: foreign-produced items may be subject to the EAR under §734.9(g) (Russia/Belarus MEU FDP rule)",
    "4": "Entity List footnote 4: foreign-produced items may be subject to the EAR under §734.9(e)(2) (advanced computing / supercomputer FDP rule)",
    "5": "Entity List footnote 5: foreign-produced items may be subject to the EAR under §734.9(e)(3) (advanced-node IC FDP rule)",
}
ROLES = (("consignee", "consignee"), ("end_user", "end user"))
STRICTNESS = {"NLR": 0, "LICENSE_EXCEPTION": 1, "NEEDS_FACTS": 2, "LICENSE_REQUIRED": 3}


def policy_of(text: str) -> str | None:
    t = (text or "").lower()
    if "denial" in t:
        return "denial"
    if "case-by-case" in t or "case by case" in t:
        return "case-by-case"
    if "approval" in t:
        return "approval"
    return None


def all_items(requirement: str) -> bool:
    t = (requirement or "").lower()
    if not t:
        return True  # no stated scope: the list's own rule (e.g. DPL, MEU) applies
    return ("all items subject to the ear" in t) and not any(w in t for w in (" when ", "listed in", "supplement no. 2", "except"))


@dataclass
class PartyScreen:
    role: str
    name: str
    country: str | None
    matches: list[dict] = field(default_factory=list)


@dataclass
class Screening:
    status: str  # screened | not_screened
    reason: str = ""
    lists: list[dict] = field(default_factory=list)
    threshold: float = THRESHOLD

    def as_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "lists": self.lists, "threshold": self.threshold}


def _db_exists() -> bool:
    """Is there a database to read lists from? Answered without importing SQLAlchemy when there is
    none (no URL in the environment, no ./aiexport.db, no database in the user data directory)."""
    if not (os.environ.get("AIEXPORT_DATABASE_URL") or Path("aiexport.db").exists()):
        import platformdirs

        p = Path(platformdirs.user_data_dir("aiexport", appauthor=False)) / "aiexport.db"
        return p.exists()
    from sqlalchemy.engine import make_url

    from aiexport.ledger import db

    u = make_url(db.resolve_url(None))
    return u.get_backend_name() != "sqlite" or bool(u.database and Path(u.database).exists())


NO_DATABASE = "no database with restricted-party lists (run `aiexport lists load FILE`)"


def unscreened(db_url: str | None = None) -> str | None:
    """Why parties cannot be screened here (no database, no list loaded), or None when lists are
    loaded; answered without building the index (a batch asks once, its workers screen)."""
    if db_url is None and not _db_exists():
        return NO_DATABASE
    from aiexport.screening import store

    ledger = store.shared_ledger(db_url)
    try:
        return None if store.current_ids(ledger) else store.NO_LISTS
    finally:
        ledger.close()


def current(db_url: str | None = None):
    """(index, ledger-less disposition map, Screening) for the current lists, or (None, {}, not_screened)."""
    if db_url is None and not _db_exists():
        return None, None, Screening("not_screened", NO_DATABASE)
    from aiexport.screening import store
    ledger = store.shared_ledger(db_url)  # one handle per database and process (close() keeps it)
    try:
        try:
            index, ids = store.current_index(ledger)
        except store.NoLists as exc:
            return None, None, Screening("not_screened", str(exc))
        info = [v for v in store.versions(ledger) if v["current"]]
        return index, ledger, Screening("screened", "", [{k: v[k] for k in ("version", "source", "published", "sha256")} for v in info])
    except BaseException:
        ledger.close()
        raise


def parties_of(t) -> list[tuple[str, str, str | None]]:
    """(role, name, country) for the consignee, the end user and their ultimate parents (by name)."""
    out = []
    for attr, label in ROLES:
        p = getattr(t, attr, None)
        if p is None:
            continue
        if p.name:
            out.append((label, p.name, p.country))
        parent = getattr(p, "ultimate_parent", None)
        if parent:
            out.append((f"{label}'s ultimate parent", parent, getattr(p, "ultimate_parent_headquarters", None) or p.hq))
    return out


def screen_transactions(txs, db_url: str | None = None) -> tuple[list[list[PartyScreen]], Screening]:
    from aiexport.screening import store

    index, ledger, info = current(db_url)
    if index is None:
        return [[] for _ in txs], info
    try:
        uniq: dict[tuple[str, str | None], None] = {}
        per_tx = [parties_of(t) for t in txs]
        for ps in per_tx:
            for _, name, cc in ps:
                uniq[(name, cc)] = None
        results = store.screen_parties(index, [(None, n, c) for n, c in uniq], THRESHOLD, ledger)
        by_party = {(r["query"], r["country"]): r for r in results}
        out = []
        for ps in per_tx:
            row = []
            for role, name, cc in ps:
                r = by_party[(name, cc)]
                row.append(PartyScreen(role, name, cc, r["matches"]))
            out.append(row)
        return out, info
    finally:
        ledger.close()


def _effect(m: dict, outcome: str, role: str, party: str) -> tuple[str, list[str], list[str], str | None, list[str]]:
    """(new outcome, rules, obligations, review policy, needs_facts) for one match on one row."""
    d = m.get("disposition")
    holds = bool(d and d.get("holds"))
    status = d["status"] if holds else None
    auto = status is None and bool(m.get("exact"))
    if auto:
        status = "confirmed"  # an exact name (and no contrary country) counts as a hit until disposed of
    entry = f"{m['name']} ({m['list']} {m['entry_id']}{'; ' + m['federal_register'] if m.get('federal_register') else ''})"
    if status == "false_positive":
        return outcome, [], [], None, []
    if status != "confirmed":
        fact = f"screening:{m['list']}:{m['entry_id']}:{role}"
        _register_question(fact, f"Is the {role} '{party}' the listed party {entry}? Score {m['score']:.2f} on "
                                 f"'{m['matched_name']}'. Record the answer: aiexport disposition add --party '{party}' "
                                 f"--entry {m['entry_id']} --status false_positive|confirmed --reason …")
        obligation = f"Open restricted-party match: {role} '{party}' ~ {entry}, score {m['score']:.2f} — resolve before shipping"
        if outcome == "LICENSE_REQUIRED":
            return outcome, ["screening.potential-match"], [obligation], None, []
        return "NEEDS_FACTS", ["screening.potential-match"], [obligation], None, [fact]
    code = m["list"]
    rule = RULE_OF_LIST.get(code)
    obligations = [f"{role} '{party}' " + (f"matches {entry} exactly (a hit until an officer disposes of it)" if auto
                                            else f"is a confirmed match of {entry} ({d['actor']}, {d['at'][:10]})")]
    if code == "EL":
        obligations.append(f"Entity List license requirement: {m.get('license_requirement') or '(not stated in the list file)'}")
        obligations += [FDP[f] for f in m.get("footnotes", []) if f in FDP]
        policy = policy_of(m.get("license_policy") or "")
        if policy is None:
            obligations.append("Review policy: not in the list file — read the entry in Supp. No. 4 to Part 744 "
                               f"({m.get('federal_register') or 'see the Federal Register notice'})")
        if not all_items(m.get("license_requirement") or ""):
            fact = f"screening:EL-scope:{m['entry_id']}:{role}"
            _register_question(fact, f"Is the item within the Entity List entry's license requirement for {m['name']}: "
                                     f"\"{m.get('license_requirement')}\"?")
            new = "LICENSE_REQUIRED" if outcome == "LICENSE_REQUIRED" else "NEEDS_FACTS"
            return new, [rule], obligations, None, ([] if new == "LICENSE_REQUIRED" else [fact])
        return "LICENSE_REQUIRED", [rule], obligations, policy, []
    if code == "DPL":
        obligations.append("Prohibited: a denial order bars any participation in the transaction (§764.3(a)(2)); "
                           "do not ship, finance, service or facilitate")
        return "LICENSE_REQUIRED", [rule], obligations, "denial", []
    if code == "MEU":
        obligations.append("Military end user (§744.21): aiexport assumes the item is within Supp. No. 2 to Part 744 "
                           "(for Russia and Belarus all items subject to the EAR are)")
        return "LICENSE_REQUIRED", [rule], obligations, "denial", []
    if code == "UVL":
        obligations += ["No license exception may be used (§744.15(a))", "File EEI in AES for every export to a UVL party (§758.1(b)(8))"]
        if outcome == "LICENSE_EXCEPTION":
            return "LICENSE_REQUIRED", [rule], obligations, None, []
        if outcome == "NLR":
            fact = f"screening:UVL-statement:{m['entry_id']}:{role}"
            _register_question(fact, f"Has the UVL statement (§744.15(b)) been obtained from {m['name']} before the export?")
            return "NEEDS_FACTS", [rule], obligations, None, [fact]
        return outcome, [rule], obligations, None, []
    if code == "SDN":
        obligations.append("OFAC: the party is blocked (31 CFR Chapter V); an OFAC license is required to deal with it — "
                           "outside the EAR, not modelled (general licences, the 50 % rule, §744.8)")
        return "LICENSE_REQUIRED", [rule], obligations, "denial", []
    fact = f"screening:{code}:{m['entry_id']}:{role}"
    _register_question(fact, f"{m['name']} is on the {code} list, whose consequences aiexport does not model: "
                             "what does its programme require for this transaction?")
    obligations.append(f"{code}: a list aiexport does not model — read the programme ({', '.join(m.get('programs') or []) or 'see the list'})")
    new = outcome if outcome == "LICENSE_REQUIRED" else "NEEDS_FACTS"
    return new, ["screening.other-list"], obligations, None, ([] if new == "LICENSE_REQUIRED" else [fact])


_QUESTIONS: dict[str, str] = {}


def _register_question(fact: str, text: str) -> None:
    """The question behind a screening fact, so `check`'s needs_facts carry it (facts.question)."""
    from aiexport.law import facts

    _QUESTIONS[fact] = text
    facts.ITEM_QUESTIONS[fact] = text


def tighten(row: dict, screens: list[PartyScreen]) -> dict:
    """One decided row (outcome, license_exception, review_policy, obligations, rules,
    needs_facts, paragraph) tightened by its parties' matches."""
    outcome0 = outcome = row["outcome"]
    rules = list(row["rules"] or [])
    obligations = list(row["obligations"] or [])
    needs = list(row["needs_facts"] or [])
    policy = row["review_policy"]
    exception = row["license_exception"]
    new_rules: list[str] = []
    for s in screens:
        for m in s.matches:
            o, r, ob, pol, nf = _effect(m, outcome, s.role, s.name)
            if STRICTNESS[o] > STRICTNESS[outcome]:
                outcome = o
            new_rules += [x for x in r if x not in new_rules]
            obligations += ob
            needs += [f for f in nf if f not in needs]
            if pol == "denial" or (pol and policy is None):
                policy = pol
    if outcome == "LICENSE_REQUIRED":
        needs, exception = [], None
    if outcome != outcome0 and outcome0 in ("NLR", "LICENSE_EXCEPTION"):
        # the rules that decided NLR / an exception no longer determine the outcome
        rules = [x for x in [row.get("paragraph")] if x] + new_rules
    else:
        rules += [x for x in new_rules if x not in rules]
    if outcome == "NEEDS_FACTS":
        exception = None
        if outcome0 != "NEEDS_FACTS":
            policy = None
    return {**row, "outcome": outcome, "rules": rules, "obligations": obligations, "needs_facts": needs,
            "review_policy": policy, "license_exception": exception}


def apply(frame: pl.DataFrame, screens: list[list[PartyScreen]], info: Screening) -> pl.DataFrame:
    """Tighten-only: rewrite outcome, rules, obligations, review policy and needs_facts of the rows
    whose parties matched; add a ``screening`` column (JSON per row) for the memo and the ledger."""
    col = [json.dumps({**info.as_dict(), "parties": [s.__dict__ for s in ps]}, ensure_ascii=False, default=str)
           for ps in screens]
    hit = [i for i, ps in enumerate(screens) if any(s.matches for s in ps)]
    frame = frame.with_columns(pl.Series("screening", col, dtype=pl.String))
    if not hit:
        return frame
    sub = frame[hit]
    names = ("outcome", "license_exception", "review_policy", "obligations", "rules", "needs_facts")
    cols = {c: sub[c].to_list() for c in names}
    paragraphs = sub["paragraph"].to_list() if "paragraph" in sub.columns else [None] * len(hit)
    for k, i in enumerate(hit):
        r = tighten({**{c: cols[c][k] for c in names}, "paragraph": paragraphs[k]}, screens[i])
        for c in names:
            cols[c][k] = r[c]
    from aiexport.law.overlays import write_back

    return write_back(frame, hit, cols)


def overlay(frame: pl.DataFrame, txs) -> pl.DataFrame:
    """The hook `run_frame` calls: screen the parties of every transaction and tighten."""
    screens, info = screen_transactions(txs)
    if info.status != "screened":
        note_not_screened(info.reason)
    return apply(frame, screens, info)


def note_not_screened(reason: str) -> None:
    """Say that the parties were NOT screened (never "clear"): the CLI prints aiexport's notes on
    stderr (cli._Notes); a server logs them."""
    logging.getLogger("aiexport.notes").info("parties NOT screened against restricted-party lists: %s", reason)


def overlay_row(row: dict, t) -> dict:
    """The same for one decided row (the `explain` memo)."""
    screens, info = screen_transactions([t])
    out = tighten(row, screens[0]) if any(p.matches for p in screens[0]) else dict(row)
    out["screening"] = json.dumps({**info.as_dict(), "parties": [p.__dict__ for p in screens[0]]}, ensure_ascii=False, default=str)
    return out


# ----------------------------------------------------------------------------- screening feeds reach (issue 10)

REACH_LISTS = ("EL", "MEU")  # an owner on these lists is "listed" for §744.11(a)(1) (90 FR 47201)
REACH_FOOTNOTES = ("1", "3", "4", "5")  # the FDP footnotes the reach fact `entity_list_footnotes` takes


def _confirmed(m: dict) -> bool:
    """A match that counts as the party: an officer confirmed it, or an exact name not disposed of
    as a false positive (the overlay's reading, ``_effect``)."""
    d = m.get("disposition")
    if d and d.get("holds"):
        return d.get("status") == "confirmed"
    return bool(m.get("exact"))


def _open(m: dict) -> bool:
    d = m.get("disposition")
    return not (d and d.get("holds"))  and not m.get("exact")


def _source(m: dict, role: str, party: str) -> dict:
    d = m.get("disposition")
    how = "confirmed by an officer" if d and d.get("holds") and d.get("status") == "confirmed" else "exact name"
    return {"list": m["list"], "entry_id": m["entry_id"], "entry": m["name"], "score": round(float(m["score"]), 4),
            "matched_name": m.get("matched_name"), "role": role, "party": party, "how": how,
            "federal_register": m.get("federal_register")}


def reach_fills(t, party_matches: list[tuple[str, str, list[dict]]], owner_matches: dict[str, list[dict]],
                lists_cover_entity_list: bool) -> list[dict]:
    """The reach facts screening answers for one transaction, each ``{fact, value, sources}``:

    * ``entity_list_footnotes`` — the FDP footnote designations (1, 3, 4, 5) of the Entity List
      entries matched to the consignee or the end user, unless the order states the fact;
    * ``owners[i].listed`` — for each stated owner whose ``listed`` is not stated, screened by name
      (§744.11(a)(1)): yes on a confirmed Entity List / MEU List match; no when nothing on the
      loaded lists matches at the threshold (and the lists include the Entity List); left open
      (the rule asks) on a potential match no officer has disposed of.

    ``party_matches`` are (role, name, matches) of the consignee and end user; ``owner_matches``
    the matches of each owner's name."""
    facts = t.facts or {}
    out: list[dict] = []
    if facts.get("entity_list_footnotes") is None:
        notes: set[int] = set()
        sources = []
        for role, name, matches in party_matches:
            if "parent" in role:
                continue
            for m in matches:
                if m["list"] == "EL" and _confirmed(m):
                    notes |= {int(f) for f in m.get("footnotes") or [] if f in REACH_FOOTNOTES}
                    sources.append(_source(m, role, name))
        if sources:
            out.append({"fact": "entity_list_footnotes", "value": sorted(notes), "sources": sources})
    owners = facts.get("owners")
    if isinstance(owners, list):
        for i, o in enumerate(owners):
            if not isinstance(o, dict) or o.get("listed") is not None or not o.get("name"):
                continue
            matches = owner_matches.get(str(o["name"]), [])
            hits = [m for m in matches if m["list"] in REACH_LISTS and _confirmed(m)]
            if hits:
                out.append({"fact": f"owners[{i}].listed", "value": True,
                            "sources": [_source(m, "owner", str(o["name"])) for m in hits]})
            elif not any(_open(m) and m["list"] in REACH_LISTS for m in matches) and lists_cover_entity_list:
                out.append({"fact": f"owners[{i}].listed", "value": False,
                            "sources": [{"list": "EL/MEU", "entry_id": None, "score": None, "role": "owner",
                                         "party": str(o["name"]), "how": "no match at the threshold on the loaded lists"}]})
    return out


def apply_fills(t, fills: list[dict]):
    """The transaction with the screening's answers as its facts (stated facts untouched)."""
    if not fills:
        return t
    facts = dict(t.facts or {})
    for f in fills:
        if f["fact"] == "entity_list_footnotes":
            facts["entity_list_footnotes"] = f["value"]
        elif f["fact"].startswith("owners["):
            i = int(f["fact"][len("owners["):f["fact"].index("]")])
            owners = [dict(o) for o in facts["owners"]]
            owners[i]["listed"] = f["value"]
            facts["owners"] = owners
    return t.model_copy(update={"facts": facts})


def screen_for_reach(txs, db_url: str | None = None):
    """The pre-decision step: (transactions with the screening's reach facts filled, the fills per
    transaction with their sources, Screening). Without lists, nothing is filled."""
    from aiexport.screening import store

    index, ledger, info = current(db_url)
    if index is None:
        return list(txs), [[] for _ in txs], info
    try:
        covers_el = any(v.get("source") == "csl" for v in info.lists)
        names: dict[tuple[str, str | None], None] = {}
        per_tx = []
        for t in txs:
            ps = [(role, n, c) for role, n, c in parties_of(t) if "parent" not in role]
            owners = [str(o["name"]) for o in (t.facts or {}).get("owners") or []
                      if isinstance(o, dict) and o.get("name") and o.get("listed") is None]
            per_tx.append((ps, owners))
            for _, n, c in ps:
                names[(n, c)] = None
            for n in owners:
                names[(n, None)] = None
        results = store.screen_parties(index, [(None, n, c) for n, c in names], THRESHOLD, ledger)
        by = {(r["query"], r["country"]): r["matches"] for r in results}
        out_txs, fills = [], []
        for t, (ps, owners) in zip(txs, per_tx, strict=True):
            f = reach_fills(t, [(role, n, by[(n, c)]) for role, n, c in ps], {n: by[(n, None)] for n in owners}, covers_el)
            fills.append(f)
            out_txs.append(apply_fills(t, f))
        return out_txs, fills, info
    finally:
        ledger.close()


def annotate(frame: pl.DataFrame, fills: list[list[dict]]) -> pl.DataFrame:
    """The decided frame with ``reach_fact_sources`` (JSON per row, or null): where each reach fact
    the screening filled came from, for the memo (``law.reach.memo.fact_sources``) and the record."""
    col = [json.dumps(f, ensure_ascii=False, default=str) if f else None for f in fills]
    return frame.with_columns(pl.Series("reach_fact_sources", col, dtype=pl.String))
