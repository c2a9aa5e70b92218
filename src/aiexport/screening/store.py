"""Lists, screened parties and dispositions in the ledger database; every list load and every
disposition is a link of the ledger's hash-chained audit log.

* A **list version** is one file (or OFAC's sdn/add/alt set), identified by its SHA-256; loading the
  same bytes again is a no-op. The *current* lists are the newest version of each source (``csl``,
  ``ofac-sdn``).
* An entry's **version** is the SHA-256 of its content (names, aliases, addresses, citation,
  licence requirement, footnotes…). A **disposition** (false_positive / confirmed) holds for one
  party and one entry version only: when the entry's content changes, the match comes back.
* A **screened party** keeps the candidate entries (uid → version) of its last screening, so
  ``--rescreen`` can screen again only the parties whose candidates changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiexport.ledger import canonical
from aiexport.ledger.service import AUDITED_RECORDS, Ledger, append_audit, resolve_actor, utcnow
from aiexport.screening.lists import ListEntry, ListFile
from aiexport.screening.match import SCORE_VERSION, THRESHOLD, Index, Match, strip_place
from aiexport.screening.models import Disposition, ListEntryRow, ListVersion, ScreenedParty
from aiexport.screening.normalize import normalize, strip_address

DISPOSITIONS = ("false_positive", "confirmed")


class NoLists(Exception):
    """No restricted-party list has been loaded."""


NO_LISTS = "no restricted-party list is loaded: run `aiexport lists load FILE` (or `lists update`)"


class _SharedLedger(Ledger):
    """A ledger handle kept for the life of the process: ``close`` leaves it open."""

    _pid = 0

    def close(self) -> None:
        pass

    def dispose(self) -> None:
        Ledger.close(self)


_LEDGERS: dict[str, tuple[object, _SharedLedger]] = {}


def _identity(url: str) -> object:
    """What a cached handle must still agree with: for SQLite the file itself (a test or a user that
    deletes and recreates the database gets a new handle), for a server the URL alone."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database:
        try:
            st = os.stat(u.database)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)
    return url


def shared_ledger(db_url: str | None = None) -> Ledger:
    """One ledger handle per database and process, for the screening overlay of ``check``: opening
    an engine and checking the schema on every check cost ~15 ms. The handle's ``close`` is a no-op;
    the engine is disposed when the database file is replaced or the process ends."""
    from aiexport.ledger import db

    url = db.resolve_url(db_url)
    ident = _identity(url)
    hit = _LEDGERS.get(url)
    if hit is not None and hit[0] == ident and hit[0] is not None and hit[1]._pid == os.getpid():
        return hit[1]
    if hit is not None and hit[1]._pid == os.getpid():
        hit[1].dispose()
    led = _SharedLedger(url)
    led._pid = os.getpid()  # a forked child opens its own connections
    _LEDGERS[url] = (_identity(url), led)
    return led


SCREENING_TABLES = ("screening_list_versions", "screening_entries", "screening_parties", "screening_dispositions")
_CHECKED: set[str] = set()


def ensure_tables(ledger: Ledger) -> None:
    """A database stamped at revision 0004 while 0004 was still an empty placeholder has no
    screening tables: create them (the same DDL as the migration, from the models)."""
    url = str(ledger.engine.url)
    if url in _CHECKED:
        return
    from sqlalchemy import inspect

    from aiexport.ledger.models import Base

    have = set(inspect(ledger.engine).get_table_names())
    missing = [Base.metadata.tables[t] for t in SCREENING_TABLES if t not in have]
    if missing:
        Base.metadata.create_all(ledger.engine, tables=missing)
    _CHECKED.add(url)


def entries_digest(s: Session, version_id: int) -> str:
    h = hashlib.sha256()
    for uid, ch in s.execute(select(ListEntryRow.uid, ListEntryRow.content_hash)
                             .where(ListEntryRow.version_id == version_id).order_by(ListEntryRow.uid)):
        h.update(f"{uid}\x1f{ch}\n".encode())
    return h.hexdigest()


def version_payload(s: Session, v: ListVersion) -> dict:
    return {"type": "screening_list_load", "version": v.id, "source": v.source, "path": v.path, "sha256": v.sha256,
            "published": v.published, "counts": json.loads(v.counts), "loaded_at": v.loaded_at, "actor": v.loaded_by,
            "entries_digest": entries_digest(s, v.id)}


def disposition_payload(d: Disposition) -> dict:
    return {"type": "screening_disposition", "id": d.id, "party_key": d.party_key, "party": d.party_name,
            "entry_uid": d.entry_uid, "entry_version": d.entry_hash, "list": d.list_code, "entry_name": d.entry_name,
            "status": d.status, "reason": d.reason, "actor": d.actor, "created_at": d.created_at}


def _audited(s: Session):
    from sqlalchemy import inspect

    if "screening_list_versions" not in inspect(s.connection()).get_table_names():
        return
    for v in s.execute(select(ListVersion)).scalars():
        yield f"list:{v.id}", version_payload(s, v), f"screening list version {v.id}"
    for d in s.execute(select(Disposition)).scalars():
        yield f"disposition:{d.id}", disposition_payload(d), f"screening disposition {d.id}"


if _audited not in AUDITED_RECORDS:
    AUDITED_RECORDS.append(_audited)


def party_key(name: str, country: str | None) -> str:
    text, _ = strip_place(strip_address(name))
    return hashlib.sha256(f"{normalize(text).text}|{(country or '').upper()}".encode()).hexdigest()[:32]


# ----------------------------------------------------------------------------- lists


@dataclass
class Loaded:
    version_id: int
    created: bool
    source: str
    sha256: str
    published: str | None
    counts: dict
    audit_seq: int | None


def load_version(ledger: Ledger, lf: ListFile, actor: str | None = None) -> Loaded:
    ensure_tables(ledger)
    actor = resolve_actor(actor)

    def fn(s: Session) -> Loaded:
        old = s.execute(select(ListVersion).where(ListVersion.sha256 == lf.sha256)).scalar_one_or_none()
        if old is not None:
            return Loaded(old.id, False, old.source, old.sha256, old.published, json.loads(old.counts), None)
        v = ListVersion(source=lf.source, path=lf.path, sha256=lf.sha256, published=lf.published,
                        counts=canonical.dumps(lf.counts()), loaded_at=utcnow(), loaded_by=actor)
        s.add(v)
        s.flush()
        seen: set[str] = set()
        rows = []
        for e in lf.entries:
            uid = e.uid
            k = 2
            while uid in seen:  # the same _id twice in one file: keep both, never drop one
                uid = f"{e.uid}#{k}"
                k += 1
            seen.add(uid)
            e.uid = uid
            rows.append({"version_id": v.id, "uid": uid, "list_code": e.list_code, "name": e.name,
                         "content_hash": e.content_hash(), "data": json.dumps(e.as_dict(), ensure_ascii=False)})
        if rows:
            s.execute(ListEntryRow.__table__.insert(), rows)
        rec = append_audit(s, "screening_list", f"list:{v.id}", version_payload(s, v))
        return Loaded(v.id, True, lf.source, lf.sha256, lf.published, lf.counts(), rec.seq)

    return ledger._run(fn)


def versions(ledger: Ledger) -> list[dict]:
    ensure_tables(ledger)
    with ledger.transaction() as s:
        cur = set(_current_ids(s))
        out = []
        for v in s.execute(select(ListVersion).order_by(ListVersion.id)).scalars():
            out.append({"version": v.id, "source": v.source, "published": v.published, "sha256": v.sha256,
                        "counts": json.loads(v.counts), "loaded_at": v.loaded_at, "loaded_by": v.loaded_by,
                        "current": v.id in cur, "path": v.path})
        return out


def _current_ids(s: Session) -> list[int]:
    latest: dict[str, int] = {}
    for v in s.execute(select(ListVersion).order_by(ListVersion.id)).scalars():
        latest[v.source] = v.id
    return sorted(latest.values())


def entries_of(ledger: Ledger, version_ids: list[int]) -> list[ListEntry]:
    with ledger.transaction() as s:
        rows = s.execute(select(ListEntryRow.data).where(ListEntryRow.version_id.in_(version_ids))
                         .order_by(ListEntryRow.version_id, ListEntryRow.id)).scalars()
        return [ListEntry.from_dict(json.loads(d)) for d in rows]


def current_ids(ledger: Ledger) -> list[int]:
    ensure_tables(ledger)
    with ledger.transaction() as s:
        return _current_ids(s)


def version_sha(ledger: Ledger, ids: list[int]) -> list[str]:
    with ledger.transaction() as s:
        return [s.get(ListVersion, i).sha256 for i in ids]


def _cache_dir() -> Path:
    import platformdirs

    d = Path(os.environ.get("AIEXPORT_CACHE_DIR") or platformdirs.user_cache_dir("aiexport", appauthor=False))
    d.mkdir(parents=True, exist_ok=True)
    return d


_INDEXES: dict[str, Index] = {}


def current_index(ledger: Ledger) -> tuple[Index, list[int]]:
    """The blocking index over the current list versions; cached on disk by their SHA-256s."""
    ids = current_ids(ledger)
    if not ids:
        raise NoLists(NO_LISTS)
    key = hashlib.sha256(("|".join(version_sha(ledger, ids)) + SCORE_VERSION).encode()).hexdigest()[:24]
    if key in _INDEXES:  # a long-lived process (the API) keeps the index of the current lists
        return _INDEXES[key], ids
    path = _cache_dir() / f"screen-index-{key}.pickle"
    if path.exists():
        try:
            with path.open("rb") as fh:
                index = pickle.load(fh)
            _INDEXES.clear()
            _INDEXES[key] = index
            return index, ids
        except Exception:  # a stale or partial cache file is rebuilt, never trusted
            pass
    index = Index(entries_of(ledger, ids))
    _INDEXES.clear()
    _INDEXES[key] = index
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return index, ids


# ----------------------------------------------------------------------------- diff


def diff_entries(old: list[ListEntry], new: list[ListEntry]) -> dict:
    """Added, removed and changed entries. Entries are paired by uid, then (list, name) for the
    layouts whose ids change with the content."""
    o = {e.uid: e for e in old}
    n = {e.uid: e for e in new}
    removed = [o[u] for u in o if u not in n]
    added = [n[u] for u in n if u not in o]
    changed = [(o[u], n[u]) for u in o if u in n and o[u].content_hash() != n[u].content_hash()]
    by_name: dict[tuple[str, str], list[ListEntry]] = {}
    for e in removed:
        by_name.setdefault((e.list_code, e.name), []).append(e)
    still_added = []
    for e in added:
        cands = by_name.get((e.list_code, e.name))
        if cands:
            changed.append((cands.pop(0), e))
        else:
            still_added.append(e)
    paired = {id(a) for a, _ in changed}
    removed = [e for e in removed if id(e) not in paired]
    return {"added": still_added, "removed": removed, "changed": changed}


def field_changes(a: ListEntry, b: ListEntry) -> dict:
    da, db = a.as_dict(), b.as_dict()
    return {k: {"old": da[k], "new": db[k]} for k in da if k not in ("uid",) and da[k] != db[k]}


# ----------------------------------------------------------------------------- dispositions


def dispositions(ledger: Ledger, keys: list[str] | None = None) -> dict[tuple[str, str], Disposition]:
    """The latest disposition per (party, entry uid)."""
    ensure_tables(ledger)
    with ledger.transaction() as s:
        q = select(Disposition).order_by(Disposition.id)
        if keys is not None:
            q = q.where(Disposition.party_key.in_(keys))
        out = {}
        for d in s.execute(q).scalars():
            out[(d.party_key, d.entry_uid)] = d
        return out


def dispose(ledger: Ledger, index: Index, name: str, country: str | None, entry_uid: str, status: str,
            reason: str, actor: str | None = None) -> dict:
    if status not in DISPOSITIONS:
        raise ValueError("--status: one of " + ", ".join(DISPOSITIONS))
    if not reason or not reason.strip():
        raise ValueError("--reason: a reason (it is recorded in the audit chain)")
    entry = next((e for e in index.entries if e.uid == entry_uid), None)
    if entry is None:
        raise ValueError(f"--entry: the entry id of a current list entry (see `aiexport screen --format json`), got {entry_uid!r}")
    actor = resolve_actor(actor)
    key = party_key(name, country)
    h = entry.content_hash()

    def fn(s: Session) -> dict:
        d = Disposition(party_key=key, party_name=name, entry_uid=entry_uid, entry_hash=h, list_code=entry.list_code,
                        entry_name=entry.name, status=status, reason=reason.strip(), actor=actor, created_at=utcnow(),
                        audit_seq=0)
        s.add(d)
        s.flush()
        payload = disposition_payload(d)
        rec = append_audit(s, "screening_disp", f"disposition:{d.id}", payload)
        d.audit_seq = rec.seq
        return {**payload, "country": country, "audit_seq": rec.seq}

    return ledger._run(fn)


# ----------------------------------------------------------------------------- screening results


def is_exact(m: Match) -> bool:
    """The party's normalised name is one of the entry's names, token for token, and no country
    contradicts it: treated as a confirmed match until an officer disposes of it."""
    ex = m.explanation or {}
    if not ex:
        return False
    return (not ex.get("query_only") and not ex.get("name_only") and bool(ex.get("agreed"))
            and ex.get("same_spelling", True)
            and all(a["similarity"] == 1.0 for a in ex["agreed"])
            and ex.get("country_evidence", {}).get("reading") != "differs")


def match_json(m: Match, disposition: Disposition | None = None) -> dict:
    e = m.entry
    out = {
        "list": e.list_code,
        "entry_id": e.uid,
        "entry_version": e.content_hash(),
        "name": e.name,
        "matched_name": m.matched_name,
        "score": m.score,
        "countries": e.countries,
        "federal_register": e.federal_register or None,
        "license_requirement": e.license_requirement or None,
        "license_policy": e.license_policy or None,
        "footnotes": e.footnotes,
        "programs": e.programs,
        "entity_type": e.entity_type,
        "explanation": m.explanation,
        "exact": is_exact(m),
        "disposition": None,
    }
    if disposition is not None:
        current = disposition.entry_hash == out["entry_version"]
        out["disposition"] = {
            "status": disposition.status if current else "expired",
            "recorded_status": disposition.status,
            "reason": disposition.reason,
            "actor": disposition.actor,
            "at": disposition.created_at,
            "audit_seq": disposition.audit_seq,
            "holds": current,
            "note": None if current else "the list entry changed since this disposition; the match is back",
        }
    return out


def result_json(pid: str | None, query: str, country: str | None, matches: list[Match], disp: dict) -> dict:
    key = party_key(query, country)
    ms = [match_json(m, disp.get((key, m.entry.uid))) for m in matches]
    open_ = [x for x in ms if not (x["disposition"] and x["disposition"]["holds"]
                                   and x["disposition"]["status"] == "false_positive")]
    return {
        "id": pid,
        "query": query,
        "country": country,
        "status": "potential_match" if open_ else "clear",
        "matches": ms,
        "party_key": key,
        "threshold": None,
    }


def screen_parties(index: Index, parties: list[tuple[str | None, str, str | None]], threshold: float = THRESHOLD,
                   ledger: Ledger | None = None) -> list[dict]:
    disp = dispositions(ledger, [party_key(n, c) for _, n, c in parties]) if ledger is not None else {}
    out = []
    matches = index.screen_batch([(name, cc) for _, name, cc in parties], threshold)
    for (pid, name, cc), ms in zip(parties, matches, strict=True):
        r = result_json(pid, name, cc, ms, disp)
        r["threshold"] = threshold
        out.append(r)
    return out


def record_parties(ledger: Ledger, results: list[dict], index: Index, version_ids: list[int]) -> None:
    """Keep each party's candidates (uid -> entry version) for --rescreen."""

    def fn(s: Session) -> None:
        for r in results:
            cands = {m["entry_id"]: m["entry_version"] for m in r["matches"]}
            p = s.execute(select(ScreenedParty).where(ScreenedParty.party_key == r["party_key"])).scalar_one_or_none()
            if p is None:
                p = ScreenedParty(party_key=r["party_key"], name=r["query"])
                s.add(p)
            p.party_id, p.country = r["id"], r["country"]
            p.versions, p.candidates = canonical.dumps(version_ids), canonical.dumps(cands)
            p.status, p.screened_at = r["status"], utcnow()

    ledger._run(fn)


def rescreen(ledger: Ledger, index: Index, version_ids: list[int], threshold: float = THRESHOLD) -> list[dict]:
    """Screen again only the stored parties whose candidate entries changed since their last
    screening: a candidate removed or changed, or an added / changed entry that now matches."""
    with ledger.transaction() as s:
        parties = list(s.execute(select(ScreenedParty).order_by(ScreenedParty.id)).scalars())
    current = {e.uid: e for e in index.entries}
    touched: dict[int, list[dict]] = {}
    by_versions: dict[str, list[ScreenedParty]] = {}
    for p in parties:
        by_versions.setdefault(p.versions, []).append(p)
    for vkey, group in by_versions.items():
        old_ids = json.loads(vkey)
        if old_ids == version_ids:
            continue
        old = {e.uid: e for e in entries_of(ledger, old_ids)}
        new_or_changed = [e for u, e in current.items() if u not in old or old[u].content_hash() != e.content_hash()]
        small = Index(new_or_changed) if new_or_changed else None
        for p in group:
            reasons = []
            for uid, h in json.loads(p.candidates).items():
                e = current.get(uid)
                if e is None:
                    reasons.append({"entry_id": uid, "change": "removed from the list"})
                elif e.content_hash() != h:
                    ch = field_changes(old[uid], e) if uid in old else {}
                    reasons.append({"entry_id": uid, "change": "changed", "fields": sorted(ch)})
            if small is not None:
                for m in small.screen(p.name, p.country, threshold, explain=False):
                    u = m.entry.uid
                    if u not in json.loads(p.candidates):
                        reasons.append({"entry_id": u, "change": "added" if u not in old else "changed",
                                        "name": m.entry.name})
            if reasons:
                touched[p.id] = reasons
    todo = [p for p in parties if p.id in touched]
    results = screen_parties(index, [(p.party_id, p.name, p.country) for p in todo], threshold, ledger)
    for r, p in zip(results, todo, strict=True):
        r["changes"] = touched[p.id]
    # parties whose versions moved but nothing relevant changed: advance their versions silently
    unchanged = [p for p in parties if p.id not in touched and json.loads(p.versions) != version_ids]
    if unchanged:
        def fn(s: Session) -> None:
            for p in unchanged:
                row = s.get(ScreenedParty, p.id)
                row.versions = canonical.dumps(version_ids)
        ledger._run(fn)
    if results:
        record_parties(ledger, results, index, version_ids)
    return results
