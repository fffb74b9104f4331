"""POST /api/tokens: sign in with username and password, get a bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from interfaces.web import schemas
from interfaces.web.api import forebyg, route
from interfaces.web.auth import issue_token

bp = Blueprint("tokens", __name__, url_prefix="/api/tokens")


@route(
    bp,
    "",
    "POST",
    summary="Sign in: exchange username and password for a bearer token",
    request_schema=schemas.TokenRequest,
    response=schemas.TokenResponse,
    status=201,
    public=True,
)
def create_token(body: dict[str, Any]) -> Any:
    caller = forebyg().authenticate(body["username"], body["password"])
    token, expires_at = issue_token(caller)
    return jsonify(schemas.TokenResponse().dump({"token": token, "expires_at": expires_at.isoformat()})), 201
