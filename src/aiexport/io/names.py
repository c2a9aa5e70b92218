"""Known names — facts, transaction fields, CSV columns, spec columns — and the closest known
name to an unknown one. An unknown name is an error (a typo must never let a default apply)."""

from __future__ import annotations

import ast
from functools import cache
from importlib import resources
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

# Calls in the law package that read a stated fact: facts.get("x"), f.get("x"), _yn(facts, "x") ...
_FACT_DICTS = {"facts", "f"}
_FACT_READERS = {"_num", "_yn", "_country", "_date"}


@cache
def known_facts() -> frozenset[str]:
    """Every fact the rules read: the registry (facts.yaml), the item questions, the fact columns
    of the license rules, and the facts the law package reads by name (foundry, GP10, models)."""
    from aiexport.law.classify import QUESTIONS
    from aiexport.law.facts import registry
    from aiexport.law.license import FACT_COLUMNS
    from aiexport.law.reach.facts import registry as reach_registry

    names = set(registry()) | set(QUESTIONS) | set(FACT_COLUMNS) | set(reach_registry()) | _facts_read_by_law()
    return frozenset(names)


def _facts_read_by_law() -> set[str]:
    out: set[str] = set()
    root = Path(str(resources.files("aiexport.law")))
    for path in root.glob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            fn = node.func
            if (isinstance(fn, ast.Attribute) and fn.attr == "get" and isinstance(fn.value, ast.Name)
                    and fn.value.id in _FACT_DICTS):
                key = node.args[0]
            elif isinstance(fn, ast.Name) and fn.id in _FACT_READERS and len(node.args) >= 2:
                key = node.args[1]
            else:
                continue
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                out.add(key.value)
        for node in ast.walk(tree):  # `"x" in f` / `"x" in facts`
            if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
                    and isinstance(node.left.value, str) and any(isinstance(o, ast.In) for o in node.ops)
                    and any(isinstance(c, ast.Name) and c.id in _FACT_DICTS for c in node.comparators)):
                out.add(node.left.value)
    return out


def closest(name: str, known: set[str] | frozenset[str] | list[str]) -> str | None:
    """The closest known name, when it is close enough to be a likely typo."""
    if not known:
        return None
    best = process.extractOne(
        str(name).strip().lower(), list(known), scorer=Levenshtein.normalized_similarity,
        processor=lambda s: s.lower(),
    )
    if best is None:
        return None
    match, score, _ = best
    return match if score >= 0.6 else None


def unknown_message(kind: str, name: str, known: set[str] | frozenset[str] | list[str]) -> str:
    """'a known fact (did you mean 'approved_or_authorized_designer'?)'."""
    guess = closest(name, known)
    if guess is not None:
        return f"a known {kind} (did you mean '{guess}'?)"
    shown = sorted(known)
    listing = ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "")
    return f"a known {kind}, one of: {listing}"
