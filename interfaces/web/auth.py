"""Bearer tokens: signed, expiring, naming a user whose account is re-read on every request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from flask import current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from application.accounts import Caller
from application.app import Forebyg
from application.errors import NotFoundError
from interfaces.web.errors import UnauthorizedError

TOKEN_TTL = timedelta(hours=12)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="forebyg-api-token")


def issue_token(caller: Caller) -> tuple[str, datetime]:
    token = _serializer().dumps({"u": caller.user_id.hex})
    return token, datetime.now(UTC) + TOKEN_TTL


def current_caller(app: Forebyg) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("A bearer token is required (POST /api/tokens).")
    try:
        payload = _serializer().loads(token.strip(), max_age=int(TOKEN_TTL.total_seconds()))
        user_id = UUID(hex=payload["u"])
    except SignatureExpired:
        raise UnauthorizedError("The token has expired; sign in again.") from None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise UnauthorizedError("The token is not valid.") from None
    try:
        return app.get_caller(user_id)
    except NotFoundError:
        raise UnauthorizedError("The account no longer exists or was deactivated.") from None
