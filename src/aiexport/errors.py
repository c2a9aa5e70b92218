"""Errors that name the file, row and field, and what was expected (exit code 2)."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_BAD_INPUT = 2


@dataclass
class InputError(Exception):
    file: str
    row: int | None
    column: str | None
    expected: str
    got: object = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
            if self.line is not None:
                where += f" (line {self.line})"
        if self.column:
            where += f", column '{self.column}'"
        got = "" if self.got is None else f", got {self.got!r}"
        return f"{where}: expected {self.expected}{got}"

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "line": self.line,
            "column": self.column,
            "expected": self.expected,
            "got": None if self.got is None else str(self.got),
        }


class InputErrors(Exception):
    """Several bad inputs at once: all are reported, none is dropped silently."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
