"""Reading input files — JSON/YAML documents and CSV tables — with errors that name the file
(and the row, line and field where there is one). Hostile input never reaches a traceback: an
empty file, a header without rows, a file that is not UTF-8, a ragged CSV row, a duplicate
column, NaN or infinity in a document are each refused with what was expected (exit code 2)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from aiexport.errors import InputError

MAX_DEPTH = 64
# libyaml's safe loader when PyYAML was built with it (10x faster; the same YAML 1.1 types).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def require(path: Path) -> None:
    if not path.exists():
        raise InputError(str(path), None, None, "an existing file", "file not found")
    if path.is_dir():
        raise InputError(str(path), None, None, "a file", "a directory")


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is allowed). Anything else is refused with the line of the
    first bad byte: a guessed encoding would silently change names."""
    require(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), None, None, "a readable file", exc.strerror or str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            str(path), None, None, "UTF-8 text (save the file as UTF-8; Latin-1 / Windows-1252 are not read)",
            f"byte 0x{data[exc.start]:02x} at line {line}", line=line,
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(str(path), None, None, "a text file", f"a NUL byte at line {line} (binary data?)")
    return text


def _finite(value: Any, path: str, where: list[str], depth: int = 0) -> None:
    """Refuse NaN and infinity anywhere in a document (YAML .nan, JSON NaN, 1e400)."""
    if depth > MAX_DEPTH:
        raise InputError(path, None, ".".join(where) or None, f"a document nested at most {MAX_DEPTH} deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(path, _row(where), _field(where), "a finite number (NaN and infinity, e.g. 1e400, are not numbers)", value)
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, path, [*where, str(k)], depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(v, path, [*where, str(i)], depth + 1)


def _row(where: list[str]) -> int | None:
    return int(where[0]) + 1 if where and where[0].isdigit() else None


def _field(where: list[str]) -> str | None:
    rest = where[1:] if where and where[0].isdigit() else where
    return ".".join(rest) or None


def read_document(path: Path) -> Any:
    """The parsed content of a .json file, or of any other file as YAML."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if not text.strip():
        raise InputError(str(path), None, None, "a document with content", "an empty file")
    try:
        data = json.loads(text) if suffix == ".json" else yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputError(str(path), None, None, f"valid {suffix[1:].upper() or 'YAML'}", str(exc)) from exc
    _finite(data, str(path), [])
    return data


def read_csv(path: Path) -> pl.DataFrame:
    """A CSV file as a frame of strings (blank cells are null), with a header and at least one row."""
    text = read_text(path)
    source = str(path)
    if not text.strip():
        raise InputError(source, None, None, "a CSV header line and at least one row", "an empty file")
    header = next(csv.reader(io.StringIO(text)), [])
    names = [h.strip() for h in header]
    for i, h in enumerate(names):
        if not h:
            raise InputError(source, None, f"column {i + 1}", "a column name in the header line", "an empty name", line=1)
        if names.index(h) != i:
            raise InputError(source, None, h, "each column once in the header line", f"'{h}' twice", line=1)
    try:
        df = pl.read_csv(io.StringIO(text), infer_schema=False, new_columns=names)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise _csv_shape_error(text, source, len(names)) or InputError(
            source, None, None, "a well-formed CSV file", str(exc).splitlines()[0]) from None
    if df.height == 0:
        raise InputError(source, None, None, "at least one data row after the header", "a header line only")
    ragged = _csv_shape_error(text, source, len(names))
    if ragged is not None:
        raise ragged
    return df


def _csv_shape_error(text: str, source: str, width: int) -> InputError | None:
    reader = csv.reader(io.StringIO(text))
    try:
        next(reader, None)
        for n, row in enumerate(reader, start=1):
            if row and len(row) != width:
                return InputError(
                    source, n, None, f"{width} fields, as in the header line", f"{len(row)} fields", line=reader.line_num
                )
    except csv.Error as exc:
        return InputError(source, None, None, "a well-formed CSV file", f"{exc} (line {reader.line_num})")
    return None
