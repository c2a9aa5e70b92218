"""Blocking index and scoring: every hit is a number in 0..1 with named features and an explanation.

Index (built once per set of list versions): every primary name, alias and parenthetical
abbreviation of every entry, normalised (``normalize.py``); an inverted index token → names; a
deletion-neighbourhood index (all one-character deletions of every token, SymSpell style) so a
query token finds list tokens one edit away without comparing against the whole vocabulary; the
concatenations of adjacent tokens (missing spaces: ``Zhongkexin`` ↔ ``Zhong Ke Xin``); the
space-less form of every name; acronyms of names of three or more tokens. A name with an
institutional phrase (Scientific Production Enterprise → NPP) is indexed in both forms.

Query (``Index.repair``): a word that no list name uses is read as the list words it most likely
is — one edit from a word the spelling variants rewrite ('Aviatoin' → aviation), or two list words
that lost their space ('SerkoLimited', 'PAOZVEZDA').

Score (``SCORE_VERSION``): for a query and one list name,

* ``token_overlap`` — tokens are aligned one-to-one by similarity (rapidfuzz ``ratio`` ≥ 0.80,
  exact for tokens of three characters or fewer, prefix for a person's given names); each side's
  coverage is the IDF-weighted share of its tokens that found a partner (rare tokens count more
  than ``technology`` or ``shenzhen``); ``token_overlap`` = 0.65·max + 0.35·min of the coverages,
  or 0.35·max + 0.65·min when the only tokens that agree are one or two common words (many names,
  leading few) or country names (``weak``), or when the two sides are in conflict: each keeps a
  word the other lacks and the name's is one of its own (IDF ≥ ``CONFLICT_IDF``, not a place of
  the lists' addresses) — 'Moore Institute Intelligent Technology' is not 'Moore Thread
  Intelligent Technology'; a person's one-word name (an alias such as 'HUSSEIN') counts only the
  query's coverage, so it matches the whole query, not a word inside it;
* ``joined_similarity`` — rapidfuzz ``ratio`` of the space-less forms (missing spaces, word
  splits), counted only when it is ≥ 0.90 and the two sides have different token counts (with the
  same count, a differing distinctive token must not hide inside a long shared string);
* ``acronym`` — when a one-token query equals the initials of a name of three or more tokens: 0.90
  for four letters or more, 0.78 for three (three-letter acronyms collide often — SAP, AEC — so
  only an agreeing or related country takes them to the threshold);
* ``country`` — +0.05 when a country of the query is among the entry's address countries (CN,
  HK and MO count as related: +0.025), −0.05 when the entry has countries and none agrees, 0 when
  either side has none. A qualifier, never a filter.

``score = clip(max(token_overlap, joined_similarity, acronym) + country, 0, 1)``, rounded to 4
places. ``THRESHOLD`` (0.80) separates ``clear`` from ``potential_match``.
"""

from __future__ import annotations

import gc
import math
import os
import re
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein, Prefix
from rapidfuzz.process import cpdist

from aiexport.screening.lists import ListEntry, country_code
from aiexport.screening.normalize import (
    LEGAL_PHRASES,
    LEGAL_TOKENS,
    VARIANTS,
    Normalized,
    acronym,
    basic,
    matchable,
    matchable_long,
    parentheticals,
    strip_address,
    without_parentheticals,
)

SCORE_VERSION = "aiexport-screen-7"
THRESHOLD = 0.80
ACRONYM = {True: 0.90, False: 0.78}  # by "four letters or more"; three needs an agreeing country
TOKEN_SIM = 0.80
COUNTRY_BONUS = 0.05
ENTITY_PENALTY = 0.10  # a query with a legal form (a company) against a person's name (all of
# the name score against a person's one-word name)
RELATED = {"CN": {"HK", "MO"}, "HK": {"CN", "MO"}, "MO": {"CN", "HK"}}
MAX_CANDIDATES = 24
_MISS = round(
    100 * (1 - TOKEN_SIM)
)  # percent of the two lengths that insertions and deletions may take
PLACE_KINDS = frozenset(
    "oblast krai province city district region county prefecture municipality governorate "
    "emirate state shi sheng qu xian raion oblasti".split()
)
CONFLICT_IDF = 5.0  # a name word this rare (in ~1 of 150 names or fewer) says which entity it is
DF_CAP = 0.005  # a token in more than 0.5 % of names does not open candidates by itself


@dataclass
class Name:
    entry: int
    text: str
    kind: str  # primary | alias | abbreviation
    norm: Normalized
    person: bool
    derived: bool = (
        False  # the name with its parenthetical left out: weaker than the name as written
    )
    long: bool = (
        False  # the institutional phrases left as written: a second form, not counted in the IDF
    )


@dataclass
class Match:
    entry: ListEntry
    matched_name: str
    matched_kind: str
    score: float
    features: dict
    explanation: dict = field(default_factory=dict)


_TRAILING_PLACE = re.compile(r",\s*([^,]+)\s*$")


def strip_place(query: str) -> tuple[str, str | None]:
    """'Huawei Suzhou OpenLab, Suzhou, China' -> ('Huawei Suzhou OpenLab, Suzhou', 'CN'): a trailing
    comma-separated country name in a purchase-order party name is country evidence, not name."""
    m = _TRAILING_PLACE.search(query)
    if m and len(m[1]) > 2:
        cc = country_code(m[1])
        if cc and query[: m.start()].strip():
            return query[: m.start()].strip(), cc
    return query, None


_NAME_MARKS = set('("“”«»„')  # a parenthesis or quotation marks: more name follows (not ' : Xi'an)


def strip_after_legal_form(query: str) -> str:
    """'REXFORD LTD., Dubai' -> 'REXFORD LTD.': on a purchase order a company name ends with its legal
    form; comma-separated words after it (that hold no legal form, digit, parenthesis or quotation
    mark, and no part longer than three words) are its place."""
    parts = query.split(",")
    for k in range(len(parts) - 1):
        last = basic(parts[k]).split()
        if (
            last
            and last[-1] in LEGAL_TOKENS
            and len(last) > 1
            or (k > 0 and last and all(t in LEGAL_TOKENS for t in last))
        ):
            tail = ",".join(parts[k + 1 :])
            if any(ch.isdigit() or ch in _NAME_MARKS for ch in tail):
                continue  # '…Group Corp., 7th Research Institute (CETC-7)': more name, not a place
            if any(len(basic(x).split()) > 3 for x in parts[k + 1 :]):
                continue  # 'Tactical Missile Corp., Central Design Bureau of Automation': a name
            rest = [basic(x).split() for x in parts[k + 1 :]]
            if rest and not any(t in LEGAL_TOKENS for r in rest for t in r):
                return ",".join(parts[: k + 1]).strip()
    return query


def _variant_typo(word: str, variants: tuple[str, ...]) -> str | None:
    """The variant spelling one edit (a transposition counts as one) from ``word``, if exactly one."""
    near = [v for v in variants if abs(len(v) - len(word)) <= 1 and OSA.distance(word, v) <= 1]
    return near[0] if len(near) == 1 else None


def _word_break(word: str, vocab: frozenset[str]) -> str | None:
    """``word`` as two list words, each four letters or more (or a legal form of three or more);
    of several splits, the most even."""
    best = None
    for k in range(3, len(word) - 2):
        a, b = word[:k], word[k:]
        if a in vocab and b in vocab:
            short = min(len(a), len(b))
            if short < 4 and not (
                (len(a) == 3 and a in LEGAL_TOKENS) or (len(b) == 3 and b in LEGAL_TOKENS)
            ):
                continue
            if best is None or short > best[0]:
                best = (short, f"{a} {b}")
    return best[1] if best else None


def _seg_arange(lengths: np.ndarray) -> np.ndarray:
    """[0, 1, .., l0-1, 0, 1, .., l1-1, ...]: the position inside each segment of the given lengths."""
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)


def _letters(tok: str) -> int:
    """The set of characters of a token as a bit mask (a-z, 0-9, anything else one bit): two tokens
    whose masks differ in d bits are at least d insertions and deletions apart."""
    m = 0
    for ch in tok:
        o = ord(ch)
        m |= 1 << (o - 97 if 97 <= o <= 122 else o - 22 if 48 <= o <= 57 else 36)
    return m


def _deletes(tok: str) -> list[str]:
    return [tok[:i] + tok[i + 1 :] for i in range(len(tok))]


class Index:
    def __init__(self, entries: list[ListEntry]):
        self.entries = entries
        self.names: list[Name] = []
        for i, e in enumerate(entries):
            person = e.entity_type == "person"
            seen: set[tuple[str, ...]] = set()
            for text, kind in [(e.name, "primary"), *((a, "alias") for a in e.aliases)]:
                variants = [(text, kind, False), (without_parentheticals(text), kind, True)]
                variants += [(p, "abbreviation", False) for p in parentheticals(text)]
                for t, k, derived in variants:
                    # the name with its institutional phrases abbreviated (what a query is read as)
                    # and as written (for a query whose phrase is misspelt, glued or reordered)
                    for n, long in ((matchable(t), False), (matchable_long(t), True)):
                        if not n.tokens or n.tokens in seen:
                            continue
                        seen.add(n.tokens)
                        self.names.append(Name(i, t, k, n, person, derived, long))
        # a parenthetical made only of words that many list names use ('(Hangzhou)', '(Hong Kong)',
        # '(HK)') is a place qualifier, not a name of its own: it is not indexed as an abbreviation
        df: dict[str, int] = defaultdict(int)
        for nm in self.names:
            if nm.kind != "abbreviation" and not nm.long:
                for t in set(nm.norm.tokens):
                    df[t] += 1
        cap = max(50, int(DF_CAP * len(self.names)))
        # nor is one made only of legal-form words ('(Private) Limited')
        legal_words = LEGAL_TOKENS | {w for ph in LEGAL_PHRASES for w in ph.split()}
        self.names = [
            nm
            for nm in self.names
            if nm.kind != "abbreviation"
            or not (
                country_code(nm.text)
                or all(df.get(t, 0) > cap for t in nm.norm.tokens)
                or all(w in legal_words for w in basic(nm.text).split())
            )
        ]
        post: dict[str, list[int]] = defaultdict(list)
        joined: dict[str, list[int]] = defaultdict(list)
        bag: dict[tuple[str, ...], list[int]] = defaultdict(list)  # the same words in any order
        acr: dict[str, list[int]] = defaultdict(list)
        for j, n in enumerate(self.names):
            toks = n.norm.tokens
            for t in set(toks):
                post[t].append(j)
            for a, b in zip(toks, toks[1:], strict=False):  # missing spaces
                post[a + b].append(j)
            joined[n.norm.joined].append(j)
            bag[tuple(sorted(toks))].append(j)
            if len(toks) >= 3:
                acr[acronym(toks)].append(j)
        self.post = dict(post)
        self.ntok = [len(n.norm.tokens) for n in self.names]
        self.jlen = [len(n.norm.joined) for n in self.names]
        self.tokset = [
            frozenset(n.norm.tokens)
            | frozenset(a + b for a, b in zip(n.norm.tokens, n.norm.tokens[1:], strict=False))
            for n in self.names
        ]
        self.joined = dict(joined)
        self.bag = dict(bag)
        self.acr = dict(acr)
        # document frequencies over the names as first read (a second, long form of a name would
        # count its phrase words twice); a token found only in long forms counts those
        total = max(sum(1 for n in self.names if not n.long), 1)
        longs = {j for j, n in enumerate(self.names) if n.long}
        self.df = {
            t: (sum(1 for j in p if j not in longs) or len(p)) if longs else len(p)
            for t, p in self.post.items()
        }
        self.idf = {t: math.log(1 + total / self.df[t]) for t in self.post}
        self.max_idf = math.log(1 + total)
        self.wsum = [sum(self.idf[t] for t in n.norm.tokens) or 1.0 for n in self.names]
        self.ecountries = [frozenset(self.entries[n.entry].countries) for n in self.names]
        self.ccat = [
            [(len(t[k]) + len(t[k + 1]), k, t[k] + t[k + 1]) for k in range(len(t) - 1)]
            for t in (n.norm.tokens for n in self.names)
        ]
        self._cache: dict = {}
        # token → position, for names whose tokens are all different (the alignment's exact pass)
        self.cpos = [
            (
                {t: k for k, t in enumerate(n.norm.tokens)}
                if len(set(n.norm.tokens)) == len(n.norm.tokens)
                else None
            )
            for n in self.names
        ]
        self.df_cap = max(50, int(DF_CAP * total))
        # words that say what kind of entity, not which one: those in more than DF_CAP of the names
        # that lead fewer than half of them (technology, group, institute, bank; not huawei or
        # beijing, which lead most names they are in), and country names ('russia', 'germany';
        # judged on the spelling before the folds)
        lead: dict[str, int] = defaultdict(int)
        for n in self.names:
            if not n.long:
                lead[n.norm.tokens[0]] += 1
        self.weak = frozenset(
            {t for t, d in self.df.items() if d > self.df_cap and 2 * lead.get(t, 0) < d}
            | {
                f
                for n in self.names
                for f, r in zip(n.norm.tokens, n.norm.raw or n.norm.tokens, strict=True)
                if len(r) >= 4 and r.isalpha() and country_code(r)
            }
        )
        dels: dict[str, list[str]] = defaultdict(list)
        for t in self.post:
            if len(t) >= 5:
                for d in _deletes(t):
                    dels[d].append(t)
        self.dels = dict(dels)
        self._build_reach()
        self._near = lru_cache(maxsize=500_000)(self._near_uncached)
        self._probes: dict = {}
        self._build_matrices()
        self._build_vocab()

    def _build_vocab(self) -> None:
        """The words of the list names as written (before spelling variants and folds), with the legal
        forms and the variants' spellings: what a query word is checked against before the query is
        read (``repair``)."""
        words = {t for nm in self.names for t in basic(nm.text).split()}
        words |= {t for t in LEGAL_TOKENS if " " not in t} | set(VARIANTS)
        self.raw_vocab = frozenset(words)
        self.variant_words = tuple(w for w in VARIANTS if len(w) >= 6 and w.isalpha())
        # the places of the lists' addresses, as the matcher spells them: the one or two
        # comma-separated parts before the country and the postal code ('…, Kirov, Kirov Oblast,
        # Russia, RU'; not the street), less the common words of names: a query word that is a
        # place says where, not who (``_conflict``)
        places: set[str] = set()
        for e in self.entries:
            for a in e.addresses:
                parts = [x.strip() for x in a.text.split(",") if x.strip()]
                while parts and (
                    len(parts[-1]) <= 2
                    or country_code(parts[-1])
                    or any(ch.isdigit() for ch in parts[-1])
                ):
                    parts.pop()
                for part in parts[-2:] if len(parts) >= 3 else parts[-1:]:
                    words = basic(part).split()
                    if len(words) > 1 and words[-1] not in PLACE_KINDS:
                        continue  # 'Huawei Base', 'Bantian Industrial Park': not a town's name
                    toks = matchable(" ".join(w for w in words if w not in PLACE_KINDS)).tokens
                    if 1 <= len(toks) <= 2 and all(t.isalpha() for t in toks):
                        places.update(t for t in toks if t not in self.weak)
        self.places = frozenset(places)

    def _build_matrices(self) -> None:
        """The postings as sparse matrices, so the candidates of a batch of queries are one sparse
        product (scipy, compiled) instead of a Python loop over postings: ``rare`` (token × name, the
        tokens that open candidates) and ``common_of`` (name × common token, a 0/1 table: a common
        token only adds to the bound of a name that is already a candidate)."""
        from scipy import sparse  # imported when an index is built (0.2 s: not on every command)

        n = len(self.names)
        self.vid = {t: k for k, t in enumerate(self.post)}
        common = [t for t, d in self.df.items() if d > self.df_cap]
        self.cid = {t: k for k, t in enumerate(common)}
        rows: list[int] = []
        cols: list[int] = []
        for t, p in self.post.items():
            if self.df[t] <= self.df_cap:
                rows.extend([self.vid[t]] * len(p))
                cols.extend(p)
        # duplicates are summed (a name reached twice by one token counts twice, as in the postings)
        self.rare = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(self.post), n))
        self.common_of = np.zeros(
            (n, len(common) + 1), dtype=bool
        )  # last column: padding, never set
        for t, c in self.cid.items():
            self.common_of[list(set(self.post[t])), c] = True
        self.np_wsum = np.asarray(self.wsum)
        self.np_ntok = np.asarray(self.ntok)
        self.np_jlen = np.asarray(self.jlen)
        self._build_prefilter()

    def _build_reach(self) -> None:
        """Per deletion string: the list token it is (five letters or more) and the tokens it is a
        deletion of, in that order: what a query token's own deletions reach (``_near``)."""
        reach: dict[str, list[str]] = {d: [] for d in self.dels}
        for t in self.post:
            if len(t) >= 5:
                reach.setdefault(t, [])
        for d, lst in reach.items():
            if d in self.post and len(d) >= 5:
                lst.append(d)
            lst.extend(self.dels.get(d, ()))
        self.reach = {d: tuple(lst) for d, lst in reach.items() if lst}

    def _build_prefilter(self) -> None:
        """The names' tokens flattened (ids into a token vocabulary, lengths, IDF weights) and
        each token joined to the next: what ``_prefilter`` needs to bound a pair's score on numpy arrays."""
        vocab: dict[str, int] = {}
        flat: list[int] = []
        start = [0]
        nxt: list[int] = []
        cats: list[str] = []
        for nm in self.names:
            toks = nm.norm.tokens
            ls = [len(t) for t in toks]
            flat.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            start.append(len(flat))
            cat = [ls[k] + ls[k + 1] for k in range(len(ls) - 1)]
            cats.extend([*(toks[k] + toks[k + 1] for k in range(len(toks) - 1)), ""])
            nxt.extend([*cat, 0])
        self.pf_vocab = vocab
        self.pf_str = np.asarray(list(vocab), dtype=object)
        self.pf_len = np.asarray([len(t) for t in vocab], dtype=np.int64)
        self.pf_mask = np.asarray([_letters(t) for t in vocab], dtype=np.int64)
        self.pf_first = np.asarray([ord(t[0]) for t in vocab], dtype=np.int64)
        self.pf_tok = np.asarray(flat, dtype=np.int64)
        self.pf_start = np.asarray(start, dtype=np.int64)
        self.pf_vw = np.asarray([self.idf.get(t, self.max_idf) for t in vocab])
        self.pf_w = self.pf_vw[self.pf_tok]
        self.pf_joined = np.asarray([nm.norm.joined for nm in self.names], dtype=object)
        self.pf_next = np.asarray(nxt, dtype=np.int64)
        self.pf_cat = np.asarray(cats, dtype=object)
        self.pf_person = np.asarray([nm.person for nm in self.names], dtype=bool)
        self.pf_acr = [
            acronym(nm.norm.tokens) if len(nm.norm.tokens) >= 3 else None for nm in self.names
        ]

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("_near", None)
        d["_cache"] = {}
        d["_probes"] = {}
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._near = lru_cache(maxsize=500_000)(self._near_uncached)
        self._probes = {}
        if "pf_tok" not in d:
            self._build_prefilter()
        if "reach" not in d:
            self._build_reach()
        if "raw_vocab" not in d:
            self._build_vocab()

    # -- candidates

    def weight(self, tok: str) -> float:
        return self.idf.get(tok, self.max_idf)

    def _conflict(self, q, c, used_q, used_c) -> bool:
        """Both sides keep a word the other lacks, and the name's is one of its own (IDF ≥
        ``CONFLICT_IDF``, not a place): 'Moore Institute Intelligent Technology' against 'Moore
        Thread Intelligent Technology', 'EDNA YARITZA Technology' against 'EDNA YARITZA
        ZAMARRIPA'. A query word that is a place (``places``) or a country is not one."""
        if len(used_q) == len(q) or len(used_c) == len(c):
            return False
        idf, mx, places, weak = self.idf, self.max_idf, self.places, self.weak
        if not any(
            k not in used_c and t not in places and idf.get(t, mx) >= CONFLICT_IDF
            for k, t in enumerate(c)
        ):
            return False
        return any(
            i not in used_q and t not in places and not (t in weak and country_code(t))
            for i, t in enumerate(q)
        )

    def _near_uncached(self, q: str) -> tuple[tuple[str, float], ...]:
        out = {}
        if q in self.post:
            out[q] = 1.0
        if len(q) >= 5:
            ratio = fuzz.ratio
            for v in self.dels.get(q, ()):  # q is a deletion of v
                out.setdefault(v, ratio(q, v) / 100)
            reach = self.reach
            for d in _deletes(q):
                for v in reach.get(d, ()):
                    if v not in out:
                        out[v] = ratio(q, v) / 100
        return tuple(out.items())

    def candidates(self, qn: Normalized, threshold: float = 0.0, countries=None) -> list[int]:
        """Names sharing a (near-)token, a space-less form or an acronym with the query, best
        first; with a threshold, only those whose score can still reach it (an upper bound from
        the blocking weights: every near token counted as a full match)."""
        return self.candidates_many([qn], threshold, bool(countries))[0]

    def _probe(
        self, t: str, exact: bool = False
    ) -> tuple[list[int], list[complex], list[tuple[int, float]], float, float]:
        """What one query token adds to the blocking, cached per token: the vocabulary columns of its
        near tokens with their weights (real: max of the two IDFs; imaginary: that times the
        similarity), the common tokens it reaches, its allowance in the bound and its own weight."""
        key = (t, exact)
        hit = self._probes.get(key)
        if hit is not None:
            return hit
        found = ((t, 1.0),) if exact else self._near(t)
        wq = self.weight(t)
        cols: list[int] = []
        vals: list[complex] = []
        com: list[tuple[int, float]] = []
        for v, sim in found:
            iv = self.idf[v]
            c = self.cid.get(v)
            if c is not None:
                com.append((c, iv))
                continue
            w = wq if wq > iv else iv
            cols.append(self.vid[v])
            vals.append(complex(w, w * sim))
        # a query token that is not in the lists may still align (ratio ≥ 0.80) with a token two
        # or more edits away, which the near tokens do not reach: the bound counts it as matched
        u = 0.0 if exact else (wq if (not found or (len(t) >= 6 and t not in self.post)) else 0.0)
        if len(self._probes) > 500_000:
            self._probes.clear()
        self._probes[key] = hit = (cols, vals, com, u, wq)
        return hit

    def candidates_many(
        self, qns: list[Normalized], threshold: float = 0.0, country: bool = True
    ) -> list[list[int]]:
        """``candidates`` for a batch of queries: the postings are summed by one sparse product
        (queries × tokens) · (tokens × names), the score bound is computed on numpy arrays; only
        the per-query probe lists (near tokens) and the few survivors are handled in Python."""
        post, cid, weight = self.post, self.cid, self.weight
        n = len(qns)
        counts: list[int] = []
        q_cols: list[int] = []
        q_vals: list[complex] = []
        commons: list[list[tuple[int, float]]] = []
        unmatched: list[float] = []
        wq_total: list[float] = []
        sure: list[dict[int, float]] = []
        no_sure: dict[int, float] = {}  # shared, never written
        probe = self._probe
        joined, bag, acr = self.joined, self.bag, self.acr
        for qn in qns:
            toks = qn.tokens
            com: list[tuple[int, float]] = []
            u = 0.0
            w = 0.0
            c0 = len(q_cols)
            for t in toks:
                cols_t, vals_t, com_t, u_t, w_t = probe(t)
                q_cols.extend(cols_t)
                q_vals.extend(vals_t)
                if com_t:
                    com.extend(com_t)
                u += u_t
                w += w_t
            for a, b in zip(toks, toks[1:], strict=False):
                ab = a + b
                if ab in post:  # adjacent query tokens written together in a list name (exact only)
                    cols_t, vals_t, com_t, _, _ = probe(ab, exact=True)
                    q_cols.extend(cols_t)
                    q_vals.extend(vals_t)
                    com.extend(com_t)
            counts.append(len(q_cols) - c0)
            unmatched.append(u)
            commons.append(com)
            wq_total.append(w or 1.0)
            s: dict[int, float] = no_sure
            js = joined.get(qn.joined)
            bs = bag.get(tuple(sorted(toks)))
            ac = acr.get(toks[0]) if len(toks) == 1 and 3 <= len(toks[0]) <= 8 else None
            if js or bs or ac:
                s = {}
                for j in js or ():
                    s[j] = s.get(j, 0.0) + 100.0
                for j in bs or ():
                    s[j] = s.get(j, 0.0) + 100.0
                for j in ac or ():
                    s[j] = s.get(j, 0.0) + 50.0
            sure.append(s)
        q_rows = np.repeat(np.arange(n), counts)
        unmatched = np.asarray(unmatched)
        wq_total = np.asarray(wq_total)
        # real part: the bound's weights (a near token counted as a full match); imaginary part:
        # the same weighted by the token similarity, to rank the candidates when there are too many
        from scipy import sparse

        q = sparse.csr_matrix(
            (np.asarray(q_vals, dtype=complex), (q_rows, q_cols)), shape=(n, len(self.post))
        )
        acc = (q @ self.rare).tocsr()
        acc.sum_duplicates()
        indptr = acc.indptr
        rows = np.repeat(np.arange(n), np.diff(indptr))
        cols = acc.indices
        a = acc.data.real.copy()
        rank = acc.data.imag.copy()
        # no rare token of the query is in the lists (only common ones, or near variants): the names
        # that hold (up to) the three rarest common tokens, those with the fewest other words first
        extra_r: list[int] = []
        extra_c: list[int] = []
        for i, qn in enumerate(qns):
            if not commons[i] or any(t in post and t not in cid for t in qn.tokens):
                continue
            toks = sorted({c for c, _ in commons[i]}, key=lambda c: self.common_of[:, c].sum())[:3]
            inter = np.flatnonzero(self.common_of[:, toks].all(axis=1))
            inter = inter[np.argsort(self.np_wsum[inter], kind="stable")[: MAX_CANDIDATES * 4]]
            extra_r += [i] * len(inter)
            extra_c += inter.tolist()
        if extra_r:
            rows = np.concatenate([rows, np.asarray(extra_r, dtype=rows.dtype)])
            cols = np.concatenate([cols, np.asarray(extra_c, dtype=cols.dtype)])
            a = np.concatenate([a, np.zeros(len(extra_r))])
            rank = np.concatenate([rank, np.zeros(len(extra_r))])
        if threshold > 0:
            cnt = np.fromiter((len(c) for c in commons), dtype=np.int64, count=n)
            if cnt.any():
                # each pair gets the weights of its query's common tokens that its name holds: one
                # pass over (pair, common token of its query), not max-commons passes over all pairs
                off = np.concatenate([[0], np.cumsum(cnt)[:-1]])
                ctok = np.fromiter(
                    (c for com in commons for c, _ in com), dtype=np.int64, count=int(cnt.sum())
                )
                cwt = np.fromiter(
                    (w for com in commons for _, w in com), dtype=float, count=int(cnt.sum())
                )
                pc = cnt[rows]
                rep = np.repeat(np.arange(len(rows)), pc)
                within = np.arange(len(rep)) - np.repeat(np.cumsum(pc) - pc, pc)
                flat = off[rows[rep]] + within
                add = np.bincount(
                    rep,
                    weights=cwt[flat] * self.common_of[cols[rep], ctok[flat]],
                    minlength=len(rows),
                )
                a = a + add
                rank = rank + add
            a = a + unmatched[rows]
            # the bound counts each near token with its similarity (the ratio the alignment gives it)
            tight = rank + unmatched[rows]
            cq = np.minimum(tight / wq_total[rows], 1.0)
            cc = np.minimum(tight / self.np_wsum[cols], 1.0)
            est = 0.65 * np.maximum(cq, cc) + 0.35 * np.minimum(cq, cc)
            cc = np.minimum(a / self.np_wsum[cols], 1.0)
            floor = threshold - (COUNTRY_BONUS if country else 0.0)
            nq = np.asarray([len(qn.tokens) for qn in qns])[rows]
            lj = np.asarray([len(qn.joined) for qn in qns])[rows]
            jl = self.np_jlen[cols]
            ok = (est >= floor) | (
                (nq != self.np_ntok[cols])
                & (cc >= 0.5)
                & (2 * np.minimum(lj, jl) >= 0.9 * (lj + jl))
            )
            rows, cols, rank = rows[ok], cols[ok], rank[ok]
        out: list[list[int]] = []
        bounds = np.searchsorted(rows, np.arange(n + 1)) if not extra_r else None
        if extra_r:  # rows are no longer sorted
            order = np.argsort(rows, kind="stable")
            rows, cols, rank = rows[order], cols[order], rank[order]
            bounds = np.searchsorted(rows, np.arange(n + 1))
        cl, al, bl = cols.tolist(), rank.tolist(), bounds.tolist()
        extra_rows = set(extra_r)
        for i in range(n):
            lo, hi = bl[i], bl[i + 1]
            if hi - lo <= MAX_CANDIDATES and not sure[i] and i not in extra_rows:
                out.append(cl[lo:hi])  # few, distinct, nothing to add: as they are
                continue
            got: dict[int, float] = {}
            for j, r in zip(cl[bl[i] : bl[i + 1]], al[bl[i] : bl[i + 1]], strict=True):
                if r > got.get(
                    j, -1.0
                ):  # a name both reached by a token and held by the common ones
                    got[j] = r
            for j, extra in sure[i].items():
                got[j] = got.get(j, 0.0) + extra
            if len(got) > MAX_CANDIDATES:
                # every name with the query's words (in any order, or without spaces) stays; the
                # others are cut to the best MAX_CANDIDATES by their similarity-weighted overlap
                # plus the weight of the query's words they hold as written (a near variant of a
                # common word, 'technologic' for 'technology', must not push out a name that holds
                # the query's own words: 'Huawei Russia' for 'Huawei Technologies Russia')
                qset = frozenset(qns[i].tokens)
                tokset = self.tokset
                for j in got:
                    for t in qset & tokset[j]:
                        got[j] += weight(t)
                ranked = sorted(got, key=got.__getitem__, reverse=True)
                n_sure = sum(1 for j in ranked if j in sure[i])
                out.append(ranked[: max(MAX_CANDIDATES, n_sure)])
            else:
                out.append(list(got))
        return out

    # -- scoring

    def _align(
        self, q: tuple[str, ...], c: tuple[str, ...], person: bool, ccat=None, qcat=None, cpos=None
    ):
        """One-to-one alignment of tokens, best pairs first: identical tokens, then similar ones
        (ratio ≥ 0.80; prefixes and initials for people), then one token against two adjacent ones.
        ``cpos``: token → position for a name whose tokens are all different (precomputed)."""
        used_q: dict[int, float] = {}
        used_c: dict[int, float] = {}
        agreed = []
        rest_q = []
        if cpos is not None:
            for i, a in enumerate(q):
                k = cpos.get(a)
                if k is not None and k not in used_c:
                    used_q[i] = used_c[k] = 1.0
                    agreed.append((a, a, 1.0))
                else:
                    rest_q.append(i)
        else:
            free_c: dict[str, list[int]] = {}
            for k, b in enumerate(c):
                free_c.setdefault(b, []).append(k)
            for i, a in enumerate(q):
                ks = free_c.get(a)
                if ks:
                    k = ks.pop(0)
                    used_q[i] = used_c[k] = 1.0
                    agreed.append((a, a, 1.0))
                else:
                    rest_q.append(i)
        if not rest_q or len(used_c) == len(c):
            return used_q, used_c, agreed
        rest_c = [k for k in range(len(c)) if k not in used_c]
        pairs = []
        ratio = fuzz.ratio
        for i in rest_q:
            a = q[i]
            la = len(a)
            for k in rest_c:
                b = c[k]
                lb = len(b)
                if la <= 3 or lb <= 3:
                    if not person:
                        continue
                    if b.startswith(a) or a.startswith(b):
                        sim = 0.85 if min(la, lb) > 1 else 0.6  # initials
                        pairs.append((sim, i, k))
                    continue
                if person and (b.startswith(a) or a.startswith(b)):
                    pairs.append((max(0.9, ratio(a, b) / 100), i, k))
                    continue
                if 2 * (la if la < lb else lb) < TOKEN_SIM * (la + lb):
                    continue  # the lengths alone rule out a ratio of 0.80
                sim = ratio(a, b, score_cutoff=TOKEN_SIM * 100)
                if sim:
                    pairs.append((sim / 100, i, k))
        # concatenations: one token of one side equals two adjacent tokens of the other
        if ccat is None:
            ccat = [(len(c[k]) + len(c[k + 1]), k, c[k] + c[k + 1]) for k in range(len(c) - 1)]
        if qcat is None:
            qcat = [(len(q[i]) + len(q[i + 1]), i, q[i] + q[i + 1]) for i in range(len(q) - 1)]
        if ccat:
            for i in rest_q:
                a = q[i]
                la = len(a)
                if la >= 5:
                    for lc, k, cat in ccat:
                        if -1 <= la - lc <= 1 and Levenshtein.normalized_similarity(a, cat) >= 0.9:
                            pairs.append((0.95, i, (k, k + 1)))
        if qcat:
            for k in rest_c:
                b = c[k]
                lb = len(b)
                if lb >= 5:
                    for lc, i, cat in qcat:
                        if -1 <= lb - lc <= 1 and Levenshtein.normalized_similarity(b, cat) >= 0.9:
                            pairs.append((0.95, (i, i + 1), k))
        if not pairs:
            return used_q, used_c, agreed
        pairs.sort(key=lambda p: -p[0])
        for sim, i, k in pairs:
            qi = i if isinstance(i, tuple) else (i,)
            ck = k if isinstance(k, tuple) else (k,)
            if any(x in used_q for x in qi) or any(x in used_c for x in ck):
                continue
            for x in qi:
                used_q[x] = sim
            for x in ck:
                used_c[x] = sim
            agreed.append((" ".join(q[x] for x in qi), " ".join(c[x] for x in ck), round(sim, 3)))
        return used_q, used_c, agreed

    def _fast(
        self, q: tuple[str, ...], wq: list[float], wq_total: float, j: int, qcat=None
    ) -> float:
        """The name score of name j before the country adjustment, without building a Match."""
        name = self.names[j]
        c = name.norm.tokens
        if q == c:
            return 1.0
        used_q, used_c, _ = self._align(q, c, name.person, self.ccat[j], qcat, self.cpos[j])
        cq = 0.0
        for i, sim in used_q.items():
            cq += wq[i] * sim
        cq /= wq_total
        cc = 0.0
        idf, mx = self.idf, self.max_idf
        for k, sim in used_c.items():
            cc += idf.get(c[k], mx) * sim
        cc /= self.wsum[j]
        weak = self.weak
        if name.person and len(c) == 1 and len(q) > 1:
            base = cq  # a person's one-word name ('HUSSEIN') is the whole query, not a word in it
        elif (0 < len(used_c) <= 2 and all(c[k] in weak for k in used_c)) or (
            name.kind != "abbreviation" and self._conflict(q, c, used_q, used_c)
        ):  # only two common words agree, or each side has a word the other lacks
            base = 0.35 * cq + 0.65 * cc if cq > cc else 0.35 * cc + 0.65 * cq
        elif name.kind == "abbreviation":  # an abbreviation is the query, not a word inside it
            base = 0.65 * cq + 0.35 * cc
        else:
            base = 0.65 * cq + 0.35 * cc if cq > cc else 0.65 * cc + 0.35 * cq
        if len(q) != len(c) and base < 1.0:
            jn = fuzz.ratio("".join(q), name.norm.joined, score_cutoff=90) / 100
            if jn > base:
                base = jn
            if (
                len(q) == 1
                and len(c) >= 3
                and base < ACRONYM[len(q[0]) >= 4]
                and q[0] == acronym(c)
            ):
                base = ACRONYM[len(q[0]) >= 4]
        return base

    def _prefilter(
        self, qns: list[Normalized], cands: list[list[int]], floor: float
    ) -> list[list[int]]:
        """Drop the (query, name) pairs whose score cannot reach ``floor``, before ``_fast`` aligns
        them one by one in Python. The bound, on numpy arrays for the whole batch: every query token
        at its best similarity to any token of the name (identical 1; rapidfuzz ``ratio`` ≥ 0.80 by
        one ``cpdist`` call; a person's prefix 1, or 0.85 for a short token; 0.95 where it and two
        adjacent tokens of the other side, or two adjacent tokens of its side and one of the other,
        have a Levenshtein similarity ≥ 0.9), every name token likewise, ignoring the one-to-one
        constraint; then the joined similarity and the acronym exactly. It is never below
        ``_fast``'s score, so the survivors' scores, and the results, are those of aligning every
        pair."""
        n_pairs = sum(len(c) for c in cands)
        if n_pairs == 0:
            return cands
        vocab = self.pf_vocab
        flat_toks = [t for qn in qns for t in qn.tokens]
        get = vocab.get
        q_ids = [get(t, -1) for t in flat_toks]
        q_start = np.cumsum([0, *(len(qn.tokens) for qn in qns)])
        base = len(vocab)
        extra = list(dict.fromkeys(t for t, v in zip(flat_toks, q_ids, strict=True) if v < 0))
        if extra:
            ex_id = {t: base + x for x, t in enumerate(extra)}
            q_ids = [v if v >= 0 else ex_id[t] for t, v in zip(flat_toks, q_ids, strict=True)]
            strs = np.concatenate([self.pf_str, np.asarray(extra, dtype=object)])
            lens = np.concatenate(
                [self.pf_len, np.asarray([len(t) for t in extra], dtype=np.int64)]
            )
            masks = np.concatenate(
                [self.pf_mask, np.asarray([_letters(t) for t in extra], dtype=np.int64)]
            )
            first = np.concatenate(
                [self.pf_first, np.asarray([ord(t[0]) for t in extra], dtype=np.int64)]
            )
        else:
            strs, lens, masks, first = self.pf_str, self.pf_len, self.pf_mask, self.pf_first
        qtok = np.asarray(q_ids, dtype=np.int64)
        qst = np.asarray(q_start, dtype=np.int64)
        qw = np.full(len(qtok), self.max_idf)
        known = qtok < base
        qw[known] = self.pf_vw[qtok[known]]
        qlen = lens[qtok]
        # per query token: the length of it joined to the next one (0 for the last)
        qnext = np.zeros(len(qtok), dtype=np.int64)
        inner = np.ones(len(qtok), dtype=bool)
        inner[qst[1:] - 1] = False  # the last token of each query
        idx = np.flatnonzero(inner)
        qnext[idx] = qlen[idx] + qlen[idx + 1]
        nq = np.diff(qst)
        pq = np.repeat(np.arange(len(qns)), [len(c) for c in cands])
        pj = np.fromiter((j for c in cands for j in c), dtype=np.int64, count=n_pairs)
        lq = nq[pq]
        ns = self.pf_start
        lc = ns[pj + 1] - ns[pj]
        size = lq * lc
        off = np.concatenate([[0], np.cumsum(size)[:-1]])
        rep = np.repeat(np.arange(n_pairs), size)
        within = np.arange(len(rep)) - off[rep]
        lcr = lc[rep]
        i = within // lcr
        k = within - i * lcr
        qpos = qst[pq][rep] + i
        npos = ns[pj][rep] + k
        a = qtok[qpos]
        b = self.pf_tok[npos]
        la = lens[a]
        lb = lens[b]
        person = self.pf_person[pj][rep]
        sim = (a == b).astype(np.float64)
        long = (la > 3) & (lb > 3)
        # ratio ≥ 0.80 needs the lengths close and few characters only on one side
        cand = (sim == 0) & long & (2 * np.minimum(la, lb) >= TOKEN_SIM * (la + lb))
        cand &= 100 * np.bitwise_count(masks[a] ^ masks[b]).astype(np.int64) <= _MISS * (la + lb)
        sel = np.flatnonzero(cand)
        if len(sel):  # each distinct token pair once
            key, inv = np.unique(a[sel] * len(strs) + b[sel], return_inverse=True)
            ua, ub_ = np.divmod(key, len(strs))
            sim[sel] = (
                cpdist(
                    strs[ua],
                    strs[ub_],
                    scorer=fuzz.ratio,
                    score_cutoff=TOKEN_SIM * 100,
                    dtype=np.float64,
                )
                / 100
            )[inv]
        psel = np.flatnonzero(
            person & (sim < 1.0) & (first[a] == first[b])
        )  # a prefix starts alike
        if len(psel):
            pre = cpdist(strs[a[psel]], strs[b[psel]], scorer=Prefix.similarity, dtype=np.int64)
            lm = np.minimum(la[psel], lb[psel])
            is_pre = (pre == lm) & (lm > 0)
            val = np.where(long[psel], 1.0, 0.85)
            sim[psel] = np.where(is_pre, np.maximum(sim[psel], val), sim[psel])
        # concatenations (one token against two adjacent tokens of the other side, Levenshtein
        # similarity ≥ 0.9 as in ``_align``): 0.95 for the three tokens involved
        simq = sim
        simc = sim
        ncat = self.pf_next[npos]
        sel = np.flatnonzero((la >= 5) & (ncat > 0) & (np.abs(la - ncat) <= 1))
        if len(sel):
            hit = sel[
                cpdist(
                    strs[a[sel]],
                    self.pf_cat[npos[sel]],
                    scorer=Levenshtein.normalized_similarity,
                    score_cutoff=0.9,
                    dtype=np.float64,
                )
                >= 0.9
            ]
            if len(hit):
                simq, simc = sim.copy(), sim.copy()
                simq[hit] = np.maximum(simq[hit], 0.95)
                simc[hit] = np.maximum(simc[hit], 0.95)
                simc[hit + 1] = np.maximum(simc[hit + 1], 0.95)  # (pair, i, k + 1)
        qcat = qnext[qpos]
        sel = np.flatnonzero((lb >= 5) & (qcat > 0) & (np.abs(lb - qcat) <= 1))
        if len(sel):
            qp = qpos[sel].tolist()
            qcs = [flat_toks[x] + flat_toks[x + 1] for x in qp]
            hit = sel[
                cpdist(
                    qcs,
                    strs[b[sel]],
                    scorer=Levenshtein.normalized_similarity,
                    score_cutoff=0.9,
                    dtype=np.float64,
                )
                >= 0.9
            ]
            if len(hit):
                simq = simq.copy() if simq is sim else simq
                simc = simc.copy() if simc is sim else simc
                simq[hit] = np.maximum(simq[hit], 0.95)
                simq[hit + lcr[hit]] = np.maximum(simq[hit + lcr[hit]], 0.95)  # (pair, i + 1, k)
                simc[hit] = np.maximum(simc[hit], 0.95)
        # query side: the best partner of each (pair, query token); name side: of each (pair, name token)
        in_q = _seg_arange(lq)
        in_c = _seg_arange(lc)
        g_q = off[np.repeat(np.arange(n_pairs), lq)] + in_q * np.repeat(lc, lq)
        s_q = np.maximum.reduceat(simq, g_q)
        order = np.empty(len(rep), dtype=np.int64)
        order[off[rep] + k * lq[rep] + i] = np.arange(len(rep))
        g_c = off[np.repeat(np.arange(n_pairs), lc)] + in_c * np.repeat(lq, lc)
        s_c = np.maximum.reduceat(simc[order], g_c)
        qi = qst[np.repeat(pq, lq)] + in_q
        ni = ns[np.repeat(pj, lc)] + in_c
        wq_total = np.add.reduceat(qw, qst[:-1])
        cq = np.add.reduceat(qw[qi] * s_q, np.concatenate([[0], np.cumsum(lq)[:-1]])) / wq_total[pq]
        cc = (
            np.add.reduceat(self.pf_w[ni] * s_c, np.concatenate([[0], np.cumsum(lc)[:-1]]))
            / self.np_wsum[pj]
        )
        ub = 0.65 * np.maximum(cq, cc) + 0.35 * np.minimum(cq, cc)
        keep = ub >= floor - 1e-6
        # the joined similarity (different token counts) and the acronym (a one-token query), exactly
        qjoined = [qn.joined for qn in qns]
        qjl = np.asarray([len(x) for x in qjoined], dtype=np.int64)[pq]
        njl = self.np_jlen[pj]
        maybe = np.flatnonzero(
            ~keep & (lq != lc) & (20 * np.minimum(qjl, njl) >= 9 * (qjl + njl))
        )  # ratio ≥ 90
        if len(maybe):
            qj = np.asarray(qjoined, dtype=object)[pq[maybe]]
            jn = (
                cpdist(
                    qj,
                    self.pf_joined[pj[maybe]],
                    scorer=fuzz.ratio,
                    score_cutoff=90,
                    dtype=np.float64,
                )
                / 100
            )
            keep[maybe[jn >= floor - 1e-6]] = True
        acr = np.flatnonzero(~keep & (lq == 1) & (lc >= 3))
        for x in acr.tolist():
            if self.pf_acr[pj[x]] == qns[pq[x]].tokens[0]:
                keep[x] = True
        kl = keep.tolist()
        out: list[list[int]] = []
        pos = 0
        for c in cands:
            out.append([j for j, kk in zip(c, kl[pos : pos + len(c)], strict=True) if kk])
            pos += len(c)
        return out

    def _country(self, j: int, countries) -> float:
        ecs = self.ecountries[j]
        if not countries or not ecs:
            return 0.0
        if countries & ecs:
            return COUNTRY_BONUS
        if any(RELATED.get(x, set()) & ecs for x in countries):
            return COUNTRY_BONUS / 2
        return -COUNTRY_BONUS

    def _base_hits(self, qn: Normalized, threshold: float) -> list[tuple[int, float]]:
        """(name, name score) of every name that can reach the threshold with the country bonus;
        cached per normalised query (the country is applied afterwards)."""
        return self._base_hits_many([qn], threshold)[0]

    def _base_hits_many(
        self, qns: list[Normalized], threshold: float
    ) -> list[list[tuple[int, float]]]:
        cache = self._cache
        todo = list(dict.fromkeys(qn for qn in qns if (qn.tokens, threshold) not in cache))
        if todo:
            if len(cache) > 300_000:
                cache.clear()
            floor = threshold - COUNTRY_BONUS - 1e-9
            weight = self.weight
            cand_lists = self._prefilter(todo, self.candidates_many(todo, threshold, True), floor)
            for qn, cands in zip(todo, cand_lists, strict=True):
                q = qn.tokens
                wq = [weight(t) for t in q]
                wq_total = sum(wq) or 1.0
                qcat = [(len(q[i]) + len(q[i + 1]), i, q[i] + q[i + 1]) for i in range(len(q) - 1)]
                out = []
                for j in cands:
                    b = self._fast(q, wq, wq_total, j, qcat)
                    if b >= floor:
                        out.append((j, b))
                cache[(q, threshold)] = out
        return [cache[(qn.tokens, threshold)] for qn in qns]

    def _prepare(self, query: str, country: str | None) -> tuple[Normalized | None, set[str]]:
        text, place = strip_place(strip_address(query))
        countries = {x for x in (country, place) if x}
        qn = matchable(self.repair(strip_after_legal_form(text)))
        return (qn if qn.tokens else None), countries

    def repair(self, text: str) -> str:
        """A query word that no list name uses, read as the list words it most likely is: a word
        one edit from a word the spelling variants rewrite ('Aviatoin' → aviation, which the lists'
        'Avia' shares), or two list words that lost the space between them ('SerkoLimited',
        'PAOZVEZDA', 'SophgoTechnologies': both parts four letters or more, or one a legal form of
        three or more). The text is returned unchanged when no word needs it."""
        words = basic(text).split()
        vocab = self.raw_vocab
        changed = False
        for x, w in enumerate(words):
            if len(w) < 6 or w in vocab or not w.isalpha():
                continue
            fixed = _variant_typo(w, self.variant_words) or _word_break(w, vocab)
            if fixed:
                words[x] = fixed
                changed = True
        return " ".join(words) if changed else text

    def _rank(
        self,
        hits: list[tuple[int, float]],
        countries: set[str],
        threshold: float,
        limit: int,
        org: bool = False,
    ) -> list[tuple[float, int]]:
        best: dict[int, tuple[float, int]] = {}
        names = self.names
        for j, b in hits:
            if org and names[j].person:
                # a person's one-word name (an alias such as 'ABDULLAH') never names a company
                b -= ENTITY_PENALTY if self.ntok[j] > 1 else b
            sc = round(min(1.0, max(0.0, b + self._country(j, countries))), 4)
            if sc >= threshold:
                e = names[j].entry
                if (
                    e not in best
                    or sc > best[e][0]
                    or (sc == best[e][0] and names[best[e][1]].derived and not names[j].derived)
                ):
                    best[e] = (sc, j)
        entries = self.entries
        ranked = sorted(
            best.values(),
            key=lambda x: (
                -x[0],
                names[x[1]].derived,
                entries[names[x[1]].entry].list_code,
                entries[names[x[1]].entry].name,
            ),
        )
        k = min(limit, len(ranked))
        while 0 < k < len(ranked) and ranked[k][0] == ranked[k - 1][0]:
            k += 1  # the limit never cuts between entries of the same score (same name, other addresses)
        return ranked[:k]

    def screen_raw(
        self, query: str, country: str | None = None, threshold: float = THRESHOLD, limit: int = 10
    ) -> tuple[Normalized | None, set[str], list[tuple[float, int]]]:
        """(normalised query, countries, [(score, name index)] best first, one per entry)."""
        return self.screen_raw_many([(query, country)], threshold, limit)[0]

    def screen_raw_many(
        self,
        queries: list[tuple[str, str | None]],
        threshold: float = THRESHOLD,
        limit: int = 10,
        batch: int = 4000,
    ) -> list[tuple[Normalized | None, set[str], list[tuple[float, int]]]]:
        """``screen_raw`` for many queries: candidates in batches (one sparse product each), with the
        cyclic garbage collector paused for a large batch (``gc_paused``)."""
        with gc_paused(len(queries) >= 200):
            return self._screen_raw_many(queries, threshold, limit, batch)

    def _screen_raw_many(
        self, queries: list[tuple[str, str | None]], threshold: float, limit: int, batch: int
    ) -> list[tuple[Normalized | None, set[str], list[tuple[float, int]]]]:
        prepared = [self._prepare(q, cc) for q, cc in queries]
        out = []
        for k in range(0, len(prepared), batch):
            part = prepared[k : k + batch]
            hits = self._base_hits_many([qn for qn, _ in part if qn is not None], threshold)
            it = iter(hits)
            for qn, countries in part:
                if qn is None:
                    out.append((None, countries, []))
                else:
                    out.append(
                        (
                            qn,
                            countries,
                            self._rank(next(it), countries, threshold, limit, bool(qn.legal)),
                        )
                    )
        return out

    def _score_name(self, qn: Normalized, name: Name) -> float:
        return self.score(qn, name, None)  # type: ignore[return-value]

    def score(
        self, qn: Normalized, name: Name, q_country: set[str] | None, explain: bool = False
    ) -> Match:
        q, c = qn.tokens, name.norm.tokens
        person = name.person
        used_q, used_c, agreed = self._align(q, c, person)
        wq = [self.weight(t) for t in q]
        wc = [self.weight(t) for t in c]
        cq = sum(w * used_q.get(i, 0) for i, w in enumerate(wq)) / (sum(wq) or 1)
        cc = sum(w * used_c.get(k, 0) for k, w in enumerate(wc)) / (sum(wc) or 1)
        # when the only words that agree are one or two common ones and country names ('Technology
        # Russia' against 'All-Russia Research Institute of Radio Technology'), the name's coverage
        # leads (more common words in a row, 'China Electronics Technology Group', make a name)
        weak_only = 0 < len(used_c) <= 2 and all(c[k] in self.weak for k in used_c)
        lone = person and len(c) == 1 and len(q) > 1  # a person's one-word name in a longer query
        conflict = (
            not lone
            and not weak_only
            and name.kind != "abbreviation"
            and self._conflict(q, c, used_q, used_c)
        )
        if lone:
            token_overlap = cq
        elif weak_only or conflict:  # the lesser coverage leads
            token_overlap = 0.35 * max(cq, cc) + 0.65 * min(cq, cc)
        elif name.kind == "abbreviation":  # an abbreviation is the query, not a word inside it
            token_overlap = 0.65 * cq + 0.35 * cc
        else:
            token_overlap = 0.65 * max(cq, cc) + 0.35 * min(cq, cc)
        joined = fuzz.ratio(qn.joined, name.norm.joined) / 100
        # only where the two sides split the name differently (same token count: token_overlap decides)
        joined_f = joined if joined >= 0.90 and len(q) != len(c) else 0.0
        acr = (
            ACRONYM[len(q[0]) >= 4] if (len(q) == 1 and len(c) >= 3 and q[0] == acronym(c)) else 0.0
        )
        base = max(token_overlap, joined_f, acr)
        entity = (-ENTITY_PENALTY if len(c) > 1 else -base) if (person and qn.legal) else 0.0
        base += entity
        if name.entry < 0:
            return round(base, 4)  # type: ignore[return-value]
        entry = self.entries[name.entry]
        ecs = set(entry.countries)
        country = 0.0
        evidence = "no country given" if not q_country else "entry has no address country"
        if q_country and ecs:
            if q_country & ecs:
                country, evidence = COUNTRY_BONUS, "agrees"
            elif any(RELATED.get(x, set()) & ecs for x in q_country):
                country, evidence = COUNTRY_BONUS / 2, "related (China / Hong Kong / Macau)"
            else:
                country, evidence = -COUNTRY_BONUS, "differs"
        score = round(min(1.0, max(0.0, base + country)), 4)
        features = {
            "token_overlap": round(token_overlap, 4),
            "joined_similarity": round(joined_f, 4),
            "acronym": acr,
            "country": country,
            "entity_type": entity,
        }
        m = Match(entry, name.text, name.kind, score, features)
        if explain:
            decisive = max(
                ("token_overlap", token_overlap),
                ("joined_similarity", joined_f),
                ("acronym", acr),
                key=lambda x: x[1],
            )[0]
            m.explanation = {
                "matched_name": name.text,
                "matched_name_kind": name.kind,
                "query_tokens": list(q),
                "name_tokens": list(c),
                "legal_forms_ignored": {"query": list(qn.legal), "name": list(name.norm.legal)},
                "agreed": [{"query": a, "name": b, "similarity": s} for a, b, s in agreed],
                "query_only": [t for i, t in enumerate(q) if i not in used_q],
                "name_only": [t for k, t in enumerate(c) if k not in used_c],
                "coverage": {"query": round(cq, 4), "name": round(cc, 4)},
                "only_common_words_agree": weak_only,
                "words_in_conflict": conflict,
                "features": features,
                "decisive_feature": decisive,
                "person_name": person,
                # the same words before the spelling folds too (an "exact" match needs this)
                "same_spelling": sorted(qn.raw or q) == sorted(name.norm.raw or c),
                "country_evidence": {
                    "query": sorted(q_country or []),
                    "entry": entry.countries,
                    "effect": country,
                    "reading": evidence,
                },
                "formula": "score = clip(max(token_overlap, joined_similarity, acronym) + country + entity_type, 0, 1)",
                "threshold": THRESHOLD,
            }
        return m

    def screen(
        self,
        query: str,
        country: str | None = None,
        threshold: float = THRESHOLD,
        explain: bool = True,
        limit: int = 10,
    ) -> list[Match]:
        qn, countries, ranked = self.screen_raw(query, country, threshold, limit)
        if qn is None:
            return []
        return [
            self.score(qn, self.names[j], countries or None, explain=explain) for _, j in ranked
        ]

    def screen_batch(
        self,
        queries: list[tuple[str, str | None]],
        threshold: float = THRESHOLD,
        explain: bool = True,
        limit: int = 10,
    ) -> list[list[Match]]:
        """``screen`` for many (name, country) pairs: the candidates in batches (one sparse product
        each), then each hit scored with its explanation."""
        out = []
        for qn, countries, ranked in self.screen_raw_many(queries, threshold, limit):
            if qn is None:
                out.append([])
            else:
                out.append(
                    [
                        self.score(qn, self.names[j], countries or None, explain=explain)
                        for _, j in ranked
                    ]
                )
        return out

    def pair_score(self, query: str, candidate: str, person: bool = False) -> float:
        """One query name against one name (with this index's token weights): the evaluation's unit."""
        qn, _ = self._prepare(query, None)
        if qn is None:
            return 0.0
        best = 0.0
        for c in {candidate, without_parentheticals(candidate), *parentheticals(candidate)}:
            for norm in {matchable(c), matchable_long(c)}:  # as the index holds it: both forms
                n = Name(-1, c, "primary", norm, person)
                if n.norm.tokens:
                    best = max(best, self._score_name(qn, n))
        return best

    def best_score(self, query: str, country: str | None = None) -> float:
        ms = self.screen(query, country, threshold=0.0, explain=False, limit=1)
        return ms[0].score if ms else 0.0


# ----------------------------------------------------------------------------- many queries

_WORKER_INDEX: Index | None = None


@contextmanager
def gc_paused(pause: bool = True):
    """The cyclic garbage collector paused: screening a batch allocates millions of small tuples,
    lists and dicts, none in a reference cycle, and the collector's passes over them and over the
    index and its caches cost a fifth of the time. Resumed afterwards (and it collects then if
    there is anything to collect). Only on the main thread: a CLI run or a batch process owns its
    process, but a server's request threads (and a Dask worker's task threads) share theirs with
    other work, which must not lose its collector while a batch is screened."""
    pause = pause and gc.isenabled() and threading.current_thread() is threading.main_thread()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


def _work(args):
    chunk, threshold = args
    idx = _WORKER_INDEX
    assert idx is not None
    names = idx.names
    with gc_paused(len(chunk) >= 200):
        return [
            [(names[j].entry, names[j].text, sc) for sc, j in ranked]
            for _, _, ranked in idx.screen_raw_many(chunk, threshold, limit=10)
        ]


def screen_many(
    index: Index,
    queries: list[tuple[str, str | None]],
    threshold: float = THRESHOLD,
    workers: int | None = None,
) -> list[list[tuple[int, str, float]]]:
    """Screen many (name, country) pairs; returns, per query, (entry position, matched name, score)
    best first. Uses every core (fork) for large batches; one process for small ones."""
    with gc_paused(len(queries) >= 200):
        return _screen_many(index, queries, threshold, workers)


def _screen_many(
    index: Index, queries: list[tuple[str, str | None]], threshold: float, workers: int | None
) -> list[list[tuple[int, str, float]]]:
    global _WORKER_INDEX
    # the same (name, country) twice is screened once (order books repeat their parties)
    uniq = list(dict.fromkeys(queries))
    if len(uniq) < len(queries):
        res_u = _screen_many(index, uniq, threshold, workers)
        by = dict(zip(uniq, res_u, strict=True))
        return [by[q] for q in queries]
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(queries) < 2000:
        _WORKER_INDEX = index
        try:
            return _work((queries, threshold))
        finally:
            _WORKER_INDEX = None
    import multiprocessing as mp

    _WORKER_INDEX = index
    size = max(500, len(queries) // (workers * 8))
    chunks = [(queries[i : i + size], threshold) for i in range(0, len(queries), size)]
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        parts = pool.map(_work, chunks)
    _WORKER_INDEX = None
    return [r for part in parts for r in part]
