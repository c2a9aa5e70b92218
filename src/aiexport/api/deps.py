"""Shared state of one server: the ledger handle, batch jobs, and who is asking."""

from __future__ import annotations

import os
import time

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aiexport.auth import service as auth
from aiexport.auth.service import Actor

bearer = HTTPBearer(auto_error=False, description="An API token from `aiexport users token NAME`.")


def ledger(request: Request):
    return request.app.state.ledger


def jobs(request: Request):
    return request.app.state.jobs


TTL = float(os.environ.get("AIEXPORT_TOKEN_CACHE_SECONDS", "5"))


def _cached(state, led, token: str) -> Actor:
    """A token's user, remembered for TTL seconds (a token replaced or a user disabled elsewhere
    stops working within TTL; changes made through this server's routes clear it at once)."""
    key = auth.hash_token(token)
    hit = state.token_cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    a = auth.by_token(led, token)
    state.token_cache[key] = (a, now + TTL)
    return a


def actor(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    """The authenticated user: a bearer token, else the web session's user."""
    led = request.app.state.ledger
    if cred is not None:
        return _cached(request.app.state, led, cred.credentials)
    name = request.scope.get("session", {}).get("user") if "session" in request.scope else None
    if name:
        a = auth.by_name(led, name)
        if a is not None:
            return a
    return auth.by_token(led, None)  # raises 401
