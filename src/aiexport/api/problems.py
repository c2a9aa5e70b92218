"""RFC 9457 problem details (application/problem+json) naming the field, for every error."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aiexport.app.errors import AppError
from aiexport.errors import InputError, InputErrors

MEDIA = "application/problem+json"
log = logging.getLogger("aiexport.api")


def problem(status: int, title: str, detail: str, request: Request, errors: list[dict] | None = None,
            headers: dict | None = None) -> JSONResponse:
    # type about:blank (RFC 9457 §4.2.1): the title is the status phrase, the detail says what went wrong
    from http import HTTPStatus

    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail,
            "instance": str(request.url.path)}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def _input_error(e: InputError) -> dict:
    d = e.as_dict()
    d["field"] = e.column
    d["detail"] = str(e)
    return d


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app(request: Request, exc: AppError):
        errors = [{"field": exc.field, "detail": exc.detail}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.title, exc.detail, request, errors, headers)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError):
        return problem(422, "Invalid input", str(exc), request, [_input_error(exc)])

    @app.exception_handler(InputErrors)
    async def _inputs(request: Request, exc: InputErrors):
        errs = [_input_error(e) for e in exc.errors]
        return problem(422, "Invalid input", f"{len(errs)} invalid field(s); nothing was decided", request, errs)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errs = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            errs.append({"field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc), "in": loc[0] if loc else None,
                         "detail": e.get("msg"), "type": e.get("type")})
        detail = "; ".join(f"{x['field']}: {x['detail']}" for x in errs[:5])
        return problem(422, "Invalid input", detail, request, errs)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem(exc.status_code, str(exc.detail), str(exc.detail), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        from aiexport.errors import is_lock_contention

        if is_lock_contention(exc) or type(exc).__name__ == "LedgerBusy":
            return problem(503, "Ledger busy", "the ledger database is locked by another writer; retry", request,
                           headers={"Retry-After": "1"})
        log.exception("unexpected error")
        return problem(500, "Internal error", f"a bug in aiexport, not in the input: {type(exc).__name__}", request)
