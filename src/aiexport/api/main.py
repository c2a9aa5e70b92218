"""Routes: each validates (Pydantic), authenticates, calls one use case in `aiexport.app`."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field

from aiexport.api import problems
from aiexport.api.deps import actor, jobs, ledger
from aiexport.app import usecases as uc
from aiexport.app import veu
from aiexport.app.models import (
    AdjustRequest,
    CheckRequest,
    ClassifyRequest,
    DispositionRequest,
    ExplainRequest,
    HoldAction,
    ScreenRequest,
    UserRequest,
    VeuLoadRequest,
    VeuRevokeRequest,
)
from aiexport.auth import service as auth
from aiexport.auth.service import Actor

PostureQ = Annotated[Literal["enforced", "codified"], Query(description="enforced (what BIS enforces) or codified (the CFR text)")]
Who = Annotated[Actor, Depends(actor)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
ERRORS = {401: {"description": "Not authenticated (problem details)"}, 403: {"description": "Role too low (problem details)"},
          422: {"description": "Invalid input, naming the field (problem details)"}}


class Page(BaseModel):
    items: list[dict]
    total: int
    limit: int
    offset: int


class ReleaseDraw(BaseModel):
    ref: str = Field(..., min_length=1, max_length=500)
    reason: str = Field(..., min_length=1, max_length=2000)


def page(items: list, limit: int, offset: int) -> dict:
    return {"items": items[offset: offset + limit], "total": len(items), "limit": limit, "offset": offset}


def _today(on: dt.date | None) -> dt.date:
    return on or dt.date.today()


v1 = APIRouter(prefix="/v1", responses=ERRORS)


@v1.get("/health", tags=["meta"])
def health() -> dict:
    return {"status": "ok"}


@v1.get("/me", tags=["users"])
def me(who: Who) -> dict:
    return {"name": who.name, "role": who.role}


# -- decisions

@v1.post("/classify", tags=["decisions"])
def classify(body: ClassifyRequest, who: Who) -> list[dict]:
    """3A090 classification of catalog chips or spec rows, with the reasons."""
    return uc.classify(body)


@v1.get("/chips", tags=["decisions"])
def chips(who: Who, limit: Limit = 100, offset: Offset = 0) -> Page:
    return page(uc.chips(), limit, offset)


@v1.post("/check", tags=["decisions"])
def check(body: CheckRequest, who: Who, request: Request) -> list[dict]:
    """One transaction or a list: the JSON of `aiexport check --format json`. Requests that arrive
    together are decided in one call of the engine, each answered as if alone (`app.coalesce`)."""
    return request.app.state.checks.check(body)


@v1.post("/explain", tags=["decisions"])
def explain(body: ExplainRequest, who: Who, led=Depends(ledger)) -> dict:
    """The determination memo as JSON, with the other posture's answer."""
    return uc.explain(body, on_record=led)


@v1.post("/explain.html", tags=["decisions"], response_class=HTMLResponse)
def explain_html(body: ExplainRequest, who: Who, led=Depends(ledger)) -> HTMLResponse:
    """The determination memo as HTML, rendered from the memo's data (what `/v1/explain` returns)."""
    from aiexport.report.render import memo_data_html

    return HTMLResponse(memo_data_html(uc.explain(body, on_record=led)))


@v1.post("/record", tags=["decisions"])
def record(body: CheckRequest, who: Who, led=Depends(ledger)) -> list[dict]:
    """Decide and record in the ledger as the authenticated user (analyst or higher)."""
    return uc.record(body, who, led)


# -- batch

@v1.post("/batch", tags=["batch"], status_code=202)
def batch_submit(who: Who, file: Annotated[UploadFile, File(description="Order book: .csv, .parquet, .jsonl or .xlsx")],
                 posture: Annotated[Literal["enforced", "codified"], Form()] = "enforced",
                 on: Annotated[dt.date | None, Form()] = None, js=Depends(jobs)) -> dict:
    return js.submit(who, file.filename or "", file.file.read(), posture, on).as_dict()


@v1.get("/batch", tags=["batch"])
def batch_list(who: Who, limit: Limit = 50, offset: Offset = 0, js=Depends(jobs)) -> Page:
    return page([j.as_dict() for j in js.list()], limit, offset)


@v1.get("/batch/{job_id}", tags=["batch"])
def batch_get(job_id: str, who: Who, js=Depends(jobs)) -> dict:
    return js.get(job_id).as_dict()


def _job_file(js, job_id: str, which: str) -> FileResponse:
    from aiexport.app.errors import Conflict

    j = js.get(job_id)
    if j.status != "done":
        raise Conflict(f"job {job_id} is {j.status}; results are ready when it is done", field="job_id")
    p = j.out if which == "results" else j.rejects
    return FileResponse(p, media_type="text/csv", filename=f"{Path(j.filename).stem}.{which}.csv")


@v1.get("/batch/{job_id}/results", tags=["batch"], response_class=FileResponse)
def batch_results(job_id: str, who: Who, js=Depends(jobs)):
    return _job_file(js, job_id, "results")


@v1.get("/batch/{job_id}/rejects", tags=["batch"], response_class=FileResponse)
def batch_rejects(job_id: str, who: Who, js=Depends(jobs)):
    return _job_file(js, job_id, "rejects")


# -- screening

@v1.post("/screen", tags=["screening"])
def screen(body: ScreenRequest, who: Who, led=Depends(ledger)) -> list[dict]:
    return uc.screen(led, body)


@v1.get("/lists", tags=["screening"])
def lists(who: Who, led=Depends(ledger)) -> list[dict]:
    return uc.lists(led)


@v1.get("/dispositions", tags=["screening"])
def dispositions(who: Who, limit: Limit = 100, offset: Offset = 0, led=Depends(ledger)) -> Page:
    return page(uc.dispositions(led), limit, offset)


@v1.post("/dispositions", tags=["screening"], status_code=201)
def dispose(body: DispositionRequest, who: Who, led=Depends(ledger)) -> dict:
    """Only officers dispose of screening matches."""
    return uc.dispose(led, who, body)


# -- ledger

# -- validated end users (15 CFR 748.15; issue 10)

@v1.get("/veu", tags=["veu"])
def veu_list(who: Who, limit: Limit = 100, offset: Offset = 0, led=Depends(ledger)) -> Page:
    """The VEU authorizations on record, revoked ones included (with their revocation)."""
    return page(veu.list_authorizations(led), limit, offset)


@v1.get("/veu/{veu_id}", tags=["veu"])
def veu_show(veu_id: str, who: Who, led=Depends(ledger)) -> dict:
    return veu.show(led, veu_id)


@v1.post("/veu", tags=["veu"], status_code=201)
def veu_load(body: VeuLoadRequest, who: Who, led=Depends(ledger)) -> dict:
    """Put VEU authorizations on record (officers only); each in the audit chain. An id already on
    record with the same terms is left as it is; with other terms it is refused."""
    return veu.load_entries(led, who, body.authorizations)


@v1.post("/veu/{veu_id}/revoke", tags=["veu"])
def veu_revoke(veu_id: str, body: VeuRevokeRequest, who: Who, led=Depends(ledger)) -> dict:
    """Revoke an authorization from a date (officers only)."""
    return veu.revoke(led, who, veu_id, body.on, body.reason)


@v1.get("/ledger/accounts", tags=["ledger"])
def accounts(who: Who, limit: Limit = 100, offset: Offset = 0, led=Depends(ledger)) -> Page:
    return page(uc.accounts(led), limit, offset)


@v1.get("/ledger/accounts/{name}", tags=["ledger"])
def account(name: str, who: Who, led=Depends(ledger)) -> dict:
    return uc.account(led, name)


@v1.post("/ledger/accounts/{name}/adjust", tags=["ledger"])
def adjust(name: str, body: AdjustRequest, who: Who, led=Depends(ledger)) -> dict:
    """Officers only."""
    return uc.plain(uc.adjust(led, who, name, body.amount, body.reason))


@v1.post("/ledger/accounts/{name}/release", tags=["ledger"])
def release_draw(name: str, body: ReleaseDraw, who: Who, led=Depends(ledger)) -> dict:
    """Give a draw back. Officers only."""
    return uc.plain(uc.release_draw(led, who, name, body.ref, body.reason))


@v1.get("/holds", tags=["holds"])
def holds(who: Who, status: Literal["open", "released", "rejected", "superseded", "all"] = "open",
          limit: Limit = 100, offset: Offset = 0, led=Depends(ledger)) -> Page:
    return page(uc.holds(led, None if status == "all" else status), limit, offset)


@v1.post("/holds/{hold_id}/release", tags=["holds"])
def release_hold(hold_id: Annotated[int, PathParam(ge=1, le=2**62)], body: HoldAction, who: Who, led=Depends(ledger)) -> dict:
    """Officers only."""
    return uc.plain(uc.resolve_hold(led, who, hold_id, "release", body))


@v1.post("/holds/{hold_id}/reject", tags=["holds"])
def reject_hold(hold_id: Annotated[int, PathParam(ge=1, le=2**62)], body: HoldAction, who: Who, led=Depends(ledger)) -> dict:
    """Officers only."""
    return uc.plain(uc.resolve_hold(led, who, hold_id, "reject", body))


@v1.get("/audit/verify", tags=["audit"])
def audit_verify(who: Who, led=Depends(ledger)) -> dict:
    return uc.audit_verify(led)


@v1.get("/audit/log", tags=["audit"])
def audit_log(who: Who, limit: Limit = 100, offset: Offset = 0, led=Depends(ledger)) -> list[dict]:
    return uc.audit_log(led, limit, offset)


# -- rules and models

@v1.get("/rules/timeline", tags=["rules"])
def rules_timeline(who: Who) -> list[dict]:
    return uc.rules_timeline()


@v1.get("/rules/diff", tags=["rules"])
def rules_diff(who: Who, from_: Annotated[dt.date, Query(alias="from")], to: dt.date, posture: PostureQ = "enforced",
               outcomes: bool = False) -> dict:
    return uc.rules_diff(from_, to, posture, outcomes)


@v1.get("/rules/parameters", tags=["rules"])
def rules_parameters(who: Who) -> list[str]:
    return uc.rules_parameters()


@v1.get("/rules/parameters/{parameter}", tags=["rules"])
def rules_show(parameter: str, who: Who, on: dt.date | None = None, posture: PostureQ = "enforced") -> dict:
    return uc.rules_show(parameter, _today(on), posture)


@v1.get("/tiers", tags=["rules"])
def tiers(who: Who, on: dt.date | None = None, posture: PostureQ = "codified") -> dict:
    return uc.tiers(_today(on), posture)


@v1.get("/models", tags=["models"])
def models(who: Who, on: dt.date | None = None, posture: PostureQ = "enforced", limit: Limit = 100,
           offset: Offset = 0) -> Page:
    return page(uc.models(_today(on), posture), limit, offset)


@v1.get("/charts/chips.svg", tags=["rules"], response_class=Response)
def chips_chart(who: Who, on: dt.date | None = None, posture: PostureQ = "enforced") -> Response:
    return Response(uc.chip_chart(_today(on), posture), media_type="image/svg+xml")


# -- users

@v1.get("/users", tags=["users"])
def users(who: Who, led=Depends(ledger)) -> list[dict]:
    return auth.list_users(led, who)


@v1.post("/users", tags=["users"], status_code=201)
def add_user(request: Request, body: UserRequest, who: Who, led=Depends(ledger)) -> dict:
    """Admins only. Returns the new user's API token (shown once)."""
    user, token = auth.add_user(led, who, body.name, body.role, body.password)
    request.app.state.token_cache.clear()
    return {**user, "token": token}


@v1.post("/users/{name}/token", tags=["users"])
def user_token(request: Request, name: str, who: Who, led=Depends(ledger)) -> dict:
    """A new token for NAME (admins for anyone, a user for themself); the old one stops working."""
    token = auth.issue_token(led, who, name)
    request.app.state.token_cache.clear()
    return {"name": name, "token": token}


def create_app(db_url: str | None = None, *, jobs_dir: Path | None = None, secret: str | None = None,
               web: bool = True, warm: bool = False) -> FastAPI:
    """The server: API at /v1 (OpenAPI 3.1 at /openapi.json, docs at /docs), the web workspace at /.
    ``warm``: decide the catalog once on every epoch first (``app.decisions.warm``, ~2.5 s), so
    that the first requests do not build the rules' plans and classifications (`aiexport serve`)."""
    if warm:
        from aiexport.app.decisions import warm as warm_up

        warm_up()
    from aiexport.app.jobs import Jobs
    from aiexport.ledger import Ledger

    app = FastAPI(title="aiexport", version=_version(), openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
                  description="US export controls on AI compute: classify, check, explain, record, batch, screen, "
                              "ledger, holds, rules, models. Bearer tokens from `aiexport users token NAME`; "
                              "errors are RFC 9457 problem details.")
    app.state.ledger = Ledger(db_url)
    from aiexport.app.coalesce import Coalescer

    app.state.checks = Coalescer(on_record=app.state.ledger)  # concurrent checks decided together
    app.state.token_cache = {}
    app.state.jobs = Jobs(jobs_dir or Path(tempfile.mkdtemp(prefix="aiexport-jobs-")))
    problems.install(app)
    app.include_router(v1)
    if web:
        from starlette.middleware.sessions import SessionMiddleware

        from aiexport.web.views import install as install_web

        key = secret or os.environ.get("AIEXPORT_SECRET_KEY") or secrets.token_hex(32)
        app.add_middleware(SessionMiddleware, secret_key=key, same_site="strict", https_only=False, max_age=8 * 3600)
        install_web(app)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aiexport")
    except PackageNotFoundError:
        return "0"
