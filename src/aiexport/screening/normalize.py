"""Name normalisation for screening.

``normalize(name)`` gives the tokens a name is compared on:

1. legal forms written in CJK script are removed before transliteration (有限公司, 股份有限公司, 集团…);
2. transliteration to ASCII (``anyascii``: Cyrillic, Greek, Arabic, CJK → Latin), case folding,
   diacritics gone;
3. ``&`` → ``and``; dots and apostrophes inside abbreviations are closed up (``S.A.`` → ``sa``,
   ``M.A.G.`` → ``mag``); every other punctuation mark separates tokens;
4. legal-form phrases and tokens across languages are removed (Co., Ltd. / Company Limited / LLC /
   OOO / AO / PAO / JSC / GmbH / S.A. / Ltd. Şti. / Sdn Bhd / FZE …) and the Russian long forms
   (Aktsionernoe Obshchestvo, Obshchestvo s Ogranichennoy Otvetstvennostyu);
5. stop words are removed (of, the, and, de, la, …);
6. common spelling variants are unified (``technologies`` → ``technology``, ``centre`` → ``center``).

What is removed is returned too (``Normalized.legal``), so an explanation can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz import fuzz

CJK_LEGAL = [
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团",
    "公司",
    "株式会社",
    "有限會社",
    "有限會司",
    "股份公司",
]
# Multi-token legal forms first (longest first), as normalised token sequences.
LEGAL_PHRASES = [
    "obshchestvo s ogranichennoy otvetstvennostyu",
    "obshchestvo s ogranichennoi otvetstvennostiu",
    "obshchestvo s ogranichennoj otvetstvennostju",
    "limited liability company",
    "limited liability partnership",
    "open joint stock company",
    "closed joint stock company",
    "public joint stock company",
    "joint stock company",
    "aktsionernoe obshchestvo",
    "aktsionernoye obshchestvo",
    "publichnoe aktsionernoe obshchestvo",
    "company limited",
    "co ltd",
    "pvt ltd",
    "private limited",
    "pte ltd",
    "pty ltd",
    "sdn bhd",
    "ltd sti",
    "san ve tic",
    "sanayi ve ticaret",
    "dis ticaret",
    "limited sirketi",
    "anonim sirketi",
    "ic ve dis ticaret",
    "societe anonyme",
    "sociedad anonima",
    "s de rl de cv",
    "sa de cv",
    "gmbh and co kg",
    "fz llc",
    "fz co",
    "l l c",
    "sp z o o",
    "sp z oo",
    "s r o",
    "d o o",
]
LEGAL_TOKENS = {
    "co",
    "company",
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "plc",
    "llp",
    "lp",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "oyj",
    "ab",
    "as",
    "asa",
    "aps",
    "jsc",
    "ojsc",
    "pjsc",
    "cjsc",
    "ooo",
    "oao",
    "zao",
    "pao",
    "ao",
    "tov",
    "too",
    "fze",
    "fzco",
    "fzc",
    "fzllc",
    "pte",
    "pty",
    "sl",
    "ltda",
    "bhd",
    "sti",
    "tic",
    "san",
    "kk",
    "sirketi",
    "cv",
    "de",
    "kft",
    "sp",
    "zoo",
    "doo",
    "dd",
    "ad",
    "eood",
    "ood",
    "pvt",
    "se",
    "sro",
    "lda",
    "bvba",
    "scs",
    "fz",
    "mchj",
    "xk",
    "chp",
}
STOP_WORDS = {
    "the",
    "of",
    "and",
    "for",
    "a",
    "an",
    "de",
    "la",
    "le",
    "el",
    "los",
    "las",
    "des",
    "du",
    "del",
    "y",
    "et",
    "und",
    "der",
    "die",
    "das",
    "di",
    "da",
    "do",
    "im",
    "in",
    "at",
    "on",
    "m",
    "s",
}
VARIANTS = {
    "technologies": "technology",
    "tech": "technology",
    "technical": "technology",
    "centre": "center",
    "intl": "international",
    "int'l": "international",
    "industries": "industry",
    "industrial": "industry",
    "sciences": "science",
    "scientific": "science",
    "electronics": "electronic",
    "systems": "system",
    "labs": "lab",
    "laboratory": "lab",
    "laboratories": "lab",
    "inst": "institute",
    "univ": "university",
    "mfg": "manufacturing",
    "grp": "group",
    "holdings": "holding",
    "trade": "trading",
    "engg": "engineering",
    "kontsern": "concern",
    "kontserna": "concern",
    "nauchno": "scientific",
    "hongkong": "hong kong",
    # Russian transliterations and their English renderings on the Entity List
    "zavod": "plant",
    "factory": "plant",
    "works": "plant",
    "kompaniya": "company",
    "upravlyayushchaya": "management",
    "imeni": "im",
    "gosudarstvennoe": "state",
    "gosudarstvennyy": "state",
    "federalnoe": "federal",
    "tsentr": "center",
    "institut": "institute",
    "tekhnologii": "technology",
    "elektronik": "electronic",
    "elektronika": "electronic",
    "aviatsionnyy": "aviation",
    "aviation": "avia",
    "shchit": "shield",
}
# Phrases that the lists write both in full and as an abbreviation (normalised to the abbreviation).
PHRASE_VARIANTS = {
    ("scientific", "production", "enterprise"): "npp",
    ("research", "and", "production", "enterprise"): "npp",
    ("scientific", "and", "production", "enterprise"): "npp",
    ("nauchno", "proizvodstvennoe", "predpriyatie"): "npp",
    ("scientific", "production", "association"): "npo",
    ("scientific", "and", "production", "association"): "npo",
    ("research", "and", "production", "association"): "npo",
    ("nauchno", "proizvodstvennoe", "obedinenie"): "npo",
    ("federal", "state", "unitary", "enterprise"): "fsue",
    ("design", "bureau"): "kb",
    ("konstruktorskoe", "byuro"): "kb",
    ("named", "after"): "im",
    ("chinese", "academy", "of", "sciences"): "cas",
    ("research", "institute"): "institute",
}
_PUNCT = re.compile(r"[^\w\s]")
_ABBR = re.compile(r"\b(?:\w\.){2,}|\b(?:\w\.)+\w\b")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])")


@dataclass(frozen=True)
class Normalized:
    tokens: tuple[str, ...]
    legal: tuple[str, ...]
    raw: tuple[str, ...] = ()  # the tokens before the spelling folds (``matchable``)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def joined(self) -> str:
        return "".join(self.tokens)


def _phrase_tokens() -> list[tuple[str, ...]]:
    return sorted({tuple(p.split()) for p in LEGAL_PHRASES}, key=len, reverse=True)


_PHRASES = _phrase_tokens()
_PHRASE_VARIANTS = sorted(PHRASE_VARIANTS.items(), key=lambda kv: len(kv[0]), reverse=True)
_LEGAL_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _ph in _PHRASES:
    _LEGAL_BY_FIRST.setdefault(_ph[0], []).append(_ph)
_VARIANT_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _ph, _abbr in _PHRASE_VARIANTS:
    _VARIANT_BY_FIRST.setdefault(_ph[0], []).append((_ph, _abbr))


def basic(name: str) -> str:
    """Transliterated, lower case, punctuation out (no legal-form or stop-word removal)."""
    s = name
    if not s.isascii():  # CJK legal forms and transliteration only where there is something to do
        for form in CJK_LEGAL:
            s = s.replace(form, " ")
        s = anyascii(_CJK.sub(r" \1 ", s))
    s = s.lower()
    s = s.replace("&", " and ").replace("+", " and ")
    if "." in s:
        s = _ABBR.sub(lambda m: m[0].replace(".", ""), s)
    s = s.replace("'", "").replace("’", "").replace("`", "")
    s = _PUNCT.sub(" ", s).replace("_", " ")
    return " ".join(s.split())


@lru_cache(maxsize=200_000)
def normalize(name: str) -> Normalized:
    return _normalize(name, True)


def _normalize(name: str, phrases: bool) -> Normalized:
    # the institutional phrases first, as written ('Scientific Production Enterprise' → npp): the
    # spelling variants below rewrite some of their words ('scientific' → 'science')
    toks = basic(name).split()
    if phrases:
        toks = _phrases(toks)
    toks = [VARIANTS.get(t, t) for t in toks]
    # VARIANTS may map to two tokens ("hongkong" -> "hong kong")
    toks = [x for t in toks for x in t.split()]
    legal: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(toks):
        for ph in _LEGAL_BY_FIRST.get(toks[i], ()):
            if tuple(toks[i : i + len(ph)]) == ph:
                legal.append(" ".join(ph))
                i += len(ph)
                break
        else:
            t = toks[i]
            if t in LEGAL_TOKENS and len(toks) > 1:
                legal.append(t)
            elif t in STOP_WORDS and len(toks) > 1:
                pass
            else:
                out.append(t)
            i += 1
    if not out:  # a name that is only a legal form / stop words: keep what there was
        out = toks
    return Normalized(tuple(out), tuple(legal))


# Spelling folds for the comparison (not for display or keys): the same sound written differently by
# different transliteration systems (Aleksandr / Alexander, Khalil / Halil, Sergeyevich /
# Sergeevich, Mohammed / Mohamed). Applied after the first letter (acronyms and initials are
# made of it) to words with a vowel (codes and acronyms such as DMCC stay), on both sides alike.
_FOLDS = [
    ("dzh", "j"),
    ("tch", "ch"),
    ("sch", "sh"),
    ("kh", "h"),
    ("ks", "x"),
    ("ph", "f"),
    ("ck", "k"),
    ("w", "v"),
    ("ou", "u"),
    ("y", "i"),
]
_DOUBLE = re.compile(r"(\w)\1+")
_VOWEL = re.compile(r"[aeiou]")


_LETTERS = re.compile(r"[a-z]+")


@lru_cache(maxsize=200_000)
def fold_token(tok: str) -> str:
    if not tok.isalpha():
        # letters and digits ('address05', 'cetc28'): each run of letters folded, the digits kept
        return (
            _LETTERS.sub(lambda m: fold_token(m[0]), tok)
            if tok.isalnum() and _VOWEL.search(tok)
            else tok
        )
    if not _VOWEL.search(tok):
        return tok  # codes and acronyms (DMCC) stay as written
    head, rest = tok[0], tok[1:]  # the first letter stays: acronyms and initials are made of it
    for a, b in _FOLDS:
        rest = rest.replace(a, b)
    return _DOUBLE.sub(r"\1", head + rest)


# Legal forms that a missing space glues onto the name ('DeutschlandGmbH', 'AlabugaLLC'): long or
# distinctive enough never to be the end of an ordinary word of four letters or more.
GLUED_LEGAL = (
    "gmbh",
    "llc",
    "ltd",
    "limited",
    "company",
    "corporation",
    "jsc",
    "pjsc",
    "ojsc",
    "cjsc",
    "plc",
    "fze",
    "fzco",
    "fzllc",
    "bhd",
)


def _unglue(tok: str) -> tuple[str, str | None]:
    if not tok.endswith(GLUED_LEGAL):
        return tok, None
    for suffix in GLUED_LEGAL:
        if tok.endswith(suffix) and len(tok) - len(suffix) >= 4 and tok[: -len(suffix)].isalpha():
            return tok[: -len(suffix)], suffix
    return tok, None


@lru_cache(maxsize=200_000)
def matchable(name: str) -> Normalized:
    """``normalize``, a legal form glued to the last word split off, then the spelling folds: what
    the matcher compares."""
    return _matchable(normalize(name))


def matchable_long(name: str) -> Normalized:
    """``matchable`` without the institutional phrases abbreviated (a list name is indexed in both
    forms, so a query whose phrase is misspelt, glued or reordered still finds the long one)."""
    return _matchable(_normalize(name, False))


def _matchable(n: Normalized) -> Normalized:
    toks, legal = list(n.tokens), list(n.legal)
    if len(toks) > 1:
        toks[-1], glued = _unglue(toks[-1])
        if glued:
            legal.append(glued)
    return Normalized(tuple(fold_token(t) for t in toks), tuple(legal), tuple(toks))


def _word_is(tok: str, word: str) -> bool:
    """A phrase word as written, or misspelt (rapidfuzz ratio ≥ 0.80, same first letter) when it is
    long enough for a typo to be told from another word ('sceintific', 'asciation')."""
    if tok == word:
        return True
    return (
        len(word) >= 6
        and tok[:1] == word[:1]
        and abs(len(tok) - len(word)) <= 2
        and fuzz.ratio(tok, word, score_cutoff=80) > 0
    )


_PHRASE_FIRST: dict[
    str, list[str]
] = {}  # first letter → the phrases' first words (six letters or more)
for _w in sorted(_VARIANT_BY_FIRST):
    if len(_w) >= 6:
        _PHRASE_FIRST.setdefault(_w[0], []).append(_w)


def _phrases(toks: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        cands = _VARIANT_BY_FIRST.get(t)
        if cands is None and len(t) >= 5 and t[0] in _PHRASE_FIRST:  # a misspelt first word
            lt = len(t)
            cands = [
                c
                for w in _PHRASE_FIRST[t[0]]
                if -2 <= lt - len(w) <= 2 and _word_is(t, w)
                for c in _VARIANT_BY_FIRST[w]
            ]
        for ph, abbr in cands or ():
            if len(toks) - i >= len(ph) and all(
                _word_is(a, b) for a, b in zip(toks[i : i + len(ph)], ph, strict=True)
            ):
                out.append(abbr)
                i += len(ph)
                break
        else:
            out.append(t)
            i += 1
    return out


def acronym(tokens: tuple[str, ...]) -> str:
    return "".join(t[0] for t in tokens if t and not t.isdigit())


def without_parentheticals(name: str) -> str:
    return re.sub(r"\s*\([^()]*\)", " ", name).strip()


# a house number starts the address; an ordinal does too when an address word follows it (17th Floor,
# 5th Avenue), not when it is part of the name (7th Research Institute)
_ADDRESS_WORDS = "floor|fl|flr|street|str|st|avenue|ave|road|rd|lane|ln|block|blk|building|bldg|tower|km|line|district|mile"
_QUERY_ADDRESS = re.compile(
    r"[.,;]\s+(?:and\s+)?\d+(?!\d|(?:st|nd|rd|th)\s+(?!(?:"
    + _ADDRESS_WORDS
    + r")\b))[\w/⁄-]*\s+\w",
    re.I,
)


def strip_address(query: str) -> str:
    """'Alexander Ivjenko, 7150 Rue Chouinard, Montreal' -> 'Alexander Ivjenko': a purchase-order
    party cell often carries the address after the name; a name never continues with a house number."""
    q = query.split(";")[0]
    m = _QUERY_ADDRESS.search(q)
    if m and m.start() > 1:
        q = q[: m.start()]
    return q.strip(" ,.;")


def parentheticals(name: str) -> list[str]:
    """'Zhukovskiy Central Aerohydrodynamics Institute (TsAGI)' -> ['TsAGI'] (an alias by itself)."""
    return [p.strip() for p in re.findall(r"\(([^()]{2,60})\)", name) if p.strip()]
