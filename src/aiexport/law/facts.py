"""The registry of user-stated facts: each with its question and documented default."""

from __future__ import annotations

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
