"""The registry of user-stated facts: each with its question and documented default."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from aiexport.law.classify import QUESTIONS as ITEM_QUESTIONS


@cache
def registry() -> dict[str, dict]:
    path = Path(str(resources.files("aiexport.law") / "parameters" / "facts.yaml"))
    return yaml.safe_load(path.read_text(encoding="utf-8"))["facts"]


def question(fact: str) -> str:
    reg = registry()
    if fact in reg:
        return reg[fact]["question"]
    return ITEM_QUESTIONS.get(fact, fact)


def default(fact: str):
    return registry().get(fact, {}).get("default")


YES = frozenset({"yes", "true", "y", "1"})
NO = frozenset({"no", "false", "n", "0"})


def yes_no(value: object, error: Callable[[str], Exception], *, unknown: tuple[str, ...] = ()) -> bool | None:
    """The one reading of a stated yes/no fact: a bool, or yes/true/y/1, no/false/n/0 in any case
    (None when not stated, or when the text is one of ``unknown``). Anything else raises
    ``error("yes or no")``: an unreadable answer is never taken as "no"."""
    if value is None or isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in YES:
        return True
    if s in NO:
        return False
    if s in unknown:
        return None
    raise error("yes or no")


def is_yes_no(fact: str) -> bool:
    """The fact is answered yes or no (the licence rules' Boolean facts, or ``type: boolean``)."""
    import polars as pl

    from aiexport.law.license import FACT_COLUMNS

    return (fact in FACT_COLUMNS and FACT_COLUMNS[fact][1] == pl.Boolean) or registry().get(fact, {}).get("type") == "boolean"
