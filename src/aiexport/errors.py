"""Errors that name the file, row and field, and what was expected (exit code 2)."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_BAD_INPUT = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: the ledger is busy (another writer holds the lock); retry later
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, reported in one line (AIEXPORT_DEBUG=1 for the traceback)
EXIT_OS = 71  # EX_OSERR: the system stopped a process of ours (killed, out of memory)


@dataclass
class InputError(Exception):
    file: str
    row: int | None
    column: str | None
    expected: str
    got: object = None
    line: int | None = None

    def __reduce__(self):  # raised in a worker process (a pool, Dask) and re-raised here
        return type(self), (self.file, self.row, self.column, self.expected, self.got, self.line)

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

    def __reduce__(self):
        return type(self), (self.errors,)


def is_lock_contention(exc: BaseException) -> bool:
    """SQLite 'database is locked' / PostgreSQL lock or statement timeout."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return "database is locked" in text or "database table is locked" in text or code in ("55P03", "57014")


def report_unexpected(exc: BaseException) -> int:
    """Print one line for an exception no command handled; returns the exit code."""
    import sys
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):
        sys.stderr.write(
            "stopped: a process of the batch pool ended abruptly (killed, or out of memory?) and OUT was not "
            "written. Run again with fewer processes (--jobs 1) or smaller chunks (--chunk-size).\n"
        )
        return EXIT_OS
    if is_lock_contention(exc):
        sys.stderr.write(
            "busy: the ledger database is locked by another writer and the wait timed out; nothing more was "
            "written by this command (what it committed before stays committed). Retry later.\n"
        )
        return EXIT_LOCKED
    sys.stderr.write(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in aiexport, not in your input: please report it with the command and the input file "
        "(run with AIEXPORT_DEBUG=1 for the traceback).\n"
    )
    return EXIT_INTERNAL
