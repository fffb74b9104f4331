"""Bearer tokens name server-side sessions (30 min idle, 12 h absolute, dead on sign-out)."""

from __future__ import annotations

from flask import g, request

from application.accounts import Caller
from application.app import Forebyg
from application.sessions import SessionExpiredError
from interfaces.web.errors import UnauthorizedError


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise UnauthorizedError("A bearer token is required (POST /api/tokens).")
    return token.strip()


def current_caller(app: Forebyg) -> Caller:
    try:
        caller = app.caller_for_session(bearer_token())
    except SessionExpiredError as error:
        raise UnauthorizedError(str(error)) from None
    g.caller = caller  # for the request's log line: user id, organisation and role
    return caller
