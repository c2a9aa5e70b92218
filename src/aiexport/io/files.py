"""Reading an input file as a JSON or YAML document, with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from aiexport.errors import InputError


def require(path: Path) -> None:
    if not path.exists():
        raise InputError(str(path), None, None, "an existing file", "file not found")


def read_document(path: Path) -> Any:
    """The parsed content of a .json file, or of any other file as YAML."""
    require(path)
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, None, f"valid {suffix[1:].upper() or 'YAML'}", str(exc)) from exc
