"""The bundled accelerator catalog (Epoch AI data, CC BY 4.0; see data/ATTRIBUTION.md)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from aiexport.io.specs import normalise, read_table

ATTRIBUTION = (
    "Data from Epoch AI, 'Machine Learning Hardware' and 'Notable AI Models', epoch.ai/data, "
    "CC BY 4.0 (see aiexport/catalog/data/ATTRIBUTION.md)."
)


class CatalogLookupError(LookupError):
    def __init__(self, query: str, candidates: list[str]):
        self.query = query
        self.candidates = candidates
        if candidates:
            msg = f"{query!r} is ambiguous; candidates: " + "; ".join(candidates)
        else:
            msg = f"{query!r} is not in the catalog (see `aiexport chips`)"
        super().__init__(msg)


def data_path(name: str) -> Path:
    return Path(str(resources.files("aiexport.catalog") / "data" / name))


@cache
def accelerators_raw() -> pl.DataFrame:
    return read_table(data_path("accelerators.csv"))


@cache
def accelerators() -> pl.DataFrame:
    """The catalog, normalised (exact micro-unit columns) plus its descriptive columns."""
    raw = accelerators_raw()
    result = normalise(raw, "accelerators.csv")
    if result.errors:  # the bundled data is validated by the tests; fail loudly if it breaks
        raise ValueError("bundled catalog is invalid: " + "; ".join(map(str, result.errors)))
    extra = raw.select("vendor", "model", "variant", "release_year", "source", "notes")
    return pl.concat([result.frame, extra], how="horizontal")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@cache
def _catalog_tokens() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_tokens(n)) for n in accelerators()["name"].to_list())


@cache
def resolve(query: str) -> int:
    """Index of the catalog row named by ``query`` (case-insensitive; tokens may be prefixes,
    e.g. "H100 SXM" -> "NVIDIA H100 SXM5 80GB"). Raises CatalogLookupError if none or several."""
    names = accelerators()["name"].to_list()
    tokens = _catalog_tokens()
    q = _tokens(query)
    if not q:
        raise CatalogLookupError(query, [])
    exact = [i for i, toks in enumerate(tokens) if list(toks) == q]
    if len(exact) == 1:
        return exact[0]
    def matches(i: int, exact_tokens: bool) -> bool:
        toks = tokens[i]
        if exact_tokens:
            return all(t in toks for t in q)
        return all(any(tok.startswith(t) for tok in toks) for t in q)
    for exact_tokens in (True, False):
        hits = [i for i in range(len(names)) if matches(i, exact_tokens)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            # "RTX 4090" names the base part, not "RTX 4090 D": prefer the unique closest name
            extra = sorted((len(tokens[i]), i) for i in hits)
            if extra[0][0] < extra[1][0]:
                return extra[0][1]
            raise CatalogLookupError(query, [names[i] for i in hits])
    raise CatalogLookupError(query, [])


def lookup(queries: list[str]) -> pl.DataFrame:
    """Catalog rows for the given names, in order (duplicates kept)."""
    idx = [resolve(q) for q in queries]
    return accelerators()[idx]
