"""Shared state of one server: the ledger handle, batch jobs, and who is asking."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aiexport.auth import service as auth
from aiexport.auth.service import Actor

bearer = HTTPBearer(auto_error=False, description="An API token from `aiexport users token NAME`.")


def ledger(request: Request):
    return request.app.state.ledger


def jobs(request: Request):
    return request.app.state.jobs


def actor(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    """The authenticated user: a bearer token, else the web session's user."""
    led = request.app.state.ledger
    if cred is not None:
        return auth.by_token(led, cred.credentials)
    name = request.scope.get("session", {}).get("user") if "session" in request.scope else None
    if name:
        a = auth.by_name(led, name)
        if a is not None:
            return a
    return auth.by_token(led, None)  # raises 401
