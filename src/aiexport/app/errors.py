"""Errors of the application layer. Each maps to one HTTP status and one CLI exit code; the
faces render them (RFC 9457 problem details over HTTP, a one-line message on the CLI)."""

from __future__ import annotations


class AppError(Exception):
    status = 400
    title = "Bad request"
    exit_code = 2

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Invalid(AppError):
    status, title, exit_code = 422, "Unprocessable content", 2


class Unauthenticated(AppError):
    status, title, exit_code = 401, "Not authenticated", 77


class Forbidden(AppError):
    status, title, exit_code = 403, "Forbidden: the role does not allow this", 77


class NotFound(AppError):
    status, title, exit_code = 404, "Not found", 2


class Conflict(AppError):
    status, title, exit_code = 409, "Conflict", 3


class Busy(AppError):
    """The ledger is locked by another writer past the busy timeout: retry later (what was
    committed before stays committed)."""

    status, title, exit_code = 503, "Busy: the ledger is locked by another writer", 75  # EX_TEMPFAIL (errors.EXIT_LOCKED)
