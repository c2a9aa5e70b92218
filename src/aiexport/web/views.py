"""Web views: session login (scrypt-hashed password), then pages over the same use cases."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from aiexport.app import usecases as uc
from aiexport.app.errors import AppError, Unauthenticated
from aiexport.app.models import (
    CheckRequest,
    ClassifyRequest,
    DispositionRequest,
    ExplainRequest,
    HoldAction,
    ScreenRequest,
)
from aiexport.auth import service as auth
from aiexport.auth.service import Actor
from aiexport.errors import InputError, InputErrors

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    pass


def user(request: Request) -> Actor:
    name = request.session.get("user")
    a = auth.by_name(request.app.state.ledger, name) if name else None
    if a is None:
        raise LoginRequired()
    return a


Me = Annotated[Actor, Depends(user)]


def page(request: Request, template: str, who: Actor | None, status: int = 200, **ctx) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"who": who, "today": dt.date.today().isoformat(), **ctx},
                                      status_code=status)


def errors_of(exc: Exception) -> list[str]:
    if isinstance(exc, InputErrors):
        return [str(e) for e in exc.errors]
    if isinstance(exc, InputError):
        return [str(exc)]
    if isinstance(exc, AppError):
        return [exc.detail]
    return [str(exc)]


@router.get("/login")
def login_form(request: Request):
    return page(request, "login.html", None)


@router.post("/login")
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()]):
    try:
        a = auth.by_password(request.app.state.ledger, name, password)
    except Unauthenticated:
        return page(request, "login.html", None, status=401, error="Unknown user name or wrong password.", name=name)
    request.session.clear()
    request.session["user"] = a.name
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, who: Me):
    return page(request, "home.html", who)


# -- classify

@router.get("/classify")
def classify_form(request: Request, who: Me):
    return page(request, "classify.html", who, chips=[c["name"] for c in uc.chips()])


@router.post("/classify")
def classify(request: Request, who: Me, chip: Annotated[str, Form()] = "", on: Annotated[str, Form()] = "",
             posture: Annotated[str, Form()] = "enforced", tpp: Annotated[str, Form()] = "",
             die_area: Annotated[str, Form()] = "", name: Annotated[str, Form()] = ""):
    try:
        day = dt.date.fromisoformat(on) if on else None
        if tpp:
            spec = {"name": name or "my chip", "tpp": tpp, "die_area_mm2": die_area or None, "marketed_for_datacenter": "yes"}
            req = ClassifyRequest(specs=[spec], on=day, posture=posture)
        else:
            req = ClassifyRequest(chips=[chip], on=day, posture=posture)
        recs = uc.classify(req)
        return page(request, "_classify_result.html", who, recs=recs)
    except Exception as exc:  # noqa: BLE001 - shown to the user, named
        return page(request, "_errors.html", who, status=422, errors=errors_of(exc))


# -- check and memo

def _order(form: dict) -> dict:
    t = {"id": form.get("id") or "WEB-1", "date": form.get("date"), "from": form.get("from") or "US", "to": form.get("to"),
         "item": {"chip": form.get("chip")}, "quantity": form.get("quantity"),
         "consignee": {"name": form.get("consignee") or None, "country": form.get("to")}}
    if form.get("hq"):
        t["consignee"]["headquarters"] = form["hq"]
    return t


@router.get("/check")
def check_form(request: Request, who: Me):
    return page(request, "check.html", who, chips=[c["name"] for c in uc.chips()])


@router.post("/check")
async def check(request: Request, who: Me):
    form = dict(await request.form())
    order = _order(form)
    posture = form.get("posture") or "enforced"
    try:
        memo = uc.explain(ExplainRequest(transaction=order, posture=posture), on_record=request.app.state.ledger)
        if form.get("record") == "on":
            uc.record(CheckRequest(transactions=[order], posture=posture), who, request.app.state.ledger)
            memo["recorded"] = True
    except Exception as exc:  # noqa: BLE001
        return page(request, "_errors.html", who, status=422, errors=errors_of(exc))
    return page(request, "_memo.html", who, memo=memo, posture=posture)


# -- batch

@router.get("/batch")
def batch_form(request: Request, who: Me):
    return page(request, "batch.html", who, jobs=[j.as_dict() for j in request.app.state.jobs.list()])


@router.post("/batch")
def batch_submit(request: Request, who: Me, file: Annotated[UploadFile, File()], posture: Annotated[str, Form()] = "enforced"):
    try:
        job = request.app.state.jobs.submit(who, file.filename or "", file.file.read(),
                                            posture if posture in ("enforced", "codified") else "enforced", None)
    except Exception as exc:  # noqa: BLE001
        return page(request, "batch.html", who, status=422, errors=errors_of(exc),
                    jobs=[j.as_dict() for j in request.app.state.jobs.list()])
    return RedirectResponse(f"/batch/{job.id}", status_code=303)


def _results(job, outcome: str | None, q: str | None, limit: int = 200) -> tuple[list[str], list[dict], int]:
    if job.status != "done" or not job.out.exists():
        return [], [], 0
    df = pl.read_csv(job.out, infer_schema_length=0)
    if outcome and "outcome" in df.columns:
        df = df.filter(pl.col("outcome") == outcome)
    if q:
        df = df.filter(pl.any_horizontal(pl.all().cast(pl.Utf8).str.contains(q, literal=True)))
    cols = [c for c in ("id", "date", "to", "item", "quantity", "eccn", "outcome", "license_exception", "review_policy", "rules")
            if c in df.columns] or df.columns[:8]
    return cols, df.select(cols).head(limit).to_dicts(), df.height


@router.get("/batch/{job_id}")
def batch_job(request: Request, who: Me, job_id: str, outcome: str | None = None, q: str | None = None):
    try:
        job = request.app.state.jobs.get(job_id)
    except AppError as exc:
        return page(request, "_errors.html", who, status=404, errors=errors_of(exc))
    cols, rows, n = _results(job, outcome, q)
    tpl = "_job.html" if request.headers.get("HX-Request") else "job.html"
    return page(request, tpl, who, job=job.as_dict(), cols=cols, rows=rows, n=n, outcome=outcome or "", q=q or "")


@router.get("/batch/{job_id}/{which}.csv")
def batch_download(request: Request, who: Me, job_id: str, which: str):
    job = request.app.state.jobs.get(job_id)
    if job.status != "done" or which not in ("results", "rejects"):
        return Response("not ready", status_code=409)
    p = job.out if which == "results" else job.rejects
    return Response(p.read_bytes(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{Path(job.filename).stem}.{which}.csv"'})


# -- holds

@router.get("/holds")
def holds(request: Request, who: Me, status: str = "open"):
    st = status if status in ("open", "released", "rejected", "superseded", "all") else "open"
    return page(request, "holds.html", who, holds=uc.holds(request.app.state.ledger, None if st == "all" else st), shown=st)


@router.post("/holds/{hold_id}/{action}")
def resolve_hold(request: Request, who: Me, hold_id: int, action: str, reason_code: Annotated[str, Form()],
                 reason: Annotated[str, Form()]):
    if action not in ("release", "reject"):
        return Response(status_code=404)
    try:
        h = uc.resolve_hold(request.app.state.ledger, who, hold_id, action, HoldAction(reason_code=reason_code, reason=reason))
    except Exception as exc:  # noqa: BLE001
        status = exc.status if isinstance(exc, AppError) else 422
        return page(request, "_errors.html", who, status=status, errors=errors_of(exc))
    return page(request, "_hold_done.html", who, h=h)


# -- screening

@router.get("/screening")
def screening(request: Request, who: Me):
    led = request.app.state.ledger
    try:
        lists = uc.lists(led)
        disps = uc.dispositions(led)
    except Exception:  # noqa: BLE001 - no lists loaded yet
        lists, disps = [], []
    return page(request, "screening.html", who, lists=lists, dispositions=disps)


@router.post("/screening")
def screen(request: Request, who: Me, name: Annotated[str, Form()], country: Annotated[str, Form()] = ""):
    try:
        res = uc.screen(request.app.state.ledger, ScreenRequest(parties=[{"name": name, "country": country or None}]))
    except Exception as exc:  # noqa: BLE001
        return page(request, "_errors.html", who, status=422, errors=errors_of(exc))
    return page(request, "_screen_result.html", who, results=res)


@router.post("/screening/dispose")
def dispose(request: Request, who: Me, party: Annotated[str, Form()], entry: Annotated[str, Form()],
            status: Annotated[str, Form()], reason: Annotated[str, Form()], country: Annotated[str, Form()] = ""):
    try:
        d = uc.dispose(request.app.state.ledger, who, DispositionRequest(party=party, entry=entry, status=status,
                                                                         reason=reason, country=country or None))
    except Exception as exc:  # noqa: BLE001
        status_code = exc.status if isinstance(exc, AppError) else 422
        return page(request, "_errors.html", who, status=status_code, errors=errors_of(exc))
    return HTMLResponse(f'<p role="status">Recorded: {Markup.escape(d["status"])} (audit link {d["audit_seq"]}).</p>')


# -- ledger, rules, tiers, chart

@router.get("/ledger")
def ledger(request: Request, who: Me):
    from aiexport.app.charts import burn_down, ledger_series

    led = request.app.state.ledger
    return page(request, "ledger.html", who, accounts=uc.accounts(led), chart=Markup(burn_down(ledger_series(led))),
                verify=uc.audit_verify(led))


@router.get("/rules")
def rules(request: Request, who: Me, d1: str = "", d2: str = "", posture: str = "enforced"):
    diff, errors = None, []
    posture = posture if posture in ("enforced", "codified") else "enforced"
    if d1 and d2:
        try:
            diff = uc.rules_diff(dt.date.fromisoformat(d1), dt.date.fromisoformat(d2), posture)
        except ValueError:
            errors = ["from / to: dates YYYY-MM-DD"]
    return page(request, "rules.html", who, timeline=uc.rules_timeline(), diff=diff, d1=d1, d2=d2, posture=posture,
                errors=errors)


@router.get("/tiers")
def tiers(request: Request, who: Me, on: str = "", posture: str = "codified"):
    try:
        day = dt.date.fromisoformat(on) if on else dt.date(2025, 6, 1)
    except ValueError:
        day = dt.date.today()
    posture = posture if posture in ("enforced", "codified") else "codified"
    return page(request, "tiers.html", who, t=uc.tiers(day, posture), on=day.isoformat(), posture=posture)


@router.get("/chart")
def chart(request: Request, who: Me, on: str = "", posture: str = "enforced"):
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        day = dt.date.today()
    posture = posture if posture in ("enforced", "codified") else "enforced"
    return page(request, "chart.html", who, svg=Markup(uc.chip_chart(day, posture)), on=day.isoformat(), posture=posture,
                versions=uc.rules_timeline())


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)


_ = io
