"""Signing in and out: POST /api/tokens opens a session, DELETE /api/tokens/current ends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from interfaces.web import schemas
from interfaces.web.api import forebyg, route
from interfaces.web.auth import bearer_token, current_caller

bp = Blueprint("tokens", __name__, url_prefix="/api/tokens")


@route(
    bp,
    "",
    "POST",
    operation_id="sign_in",
    summary="Sign in: exchange username and password for a bearer token (a session)",
    request_schema=schemas.TokenRequest,
    response=schemas.TokenResponse,
    status=201,
    public=True,
)
def create_token(body: dict[str, Any]) -> Any:
    token, expires_at, caller = forebyg().sign_in(
        body["username"], body["password"], request.remote_addr or "-"
    )
    g.caller = caller  # the request's log line names who signed in (user id, organisation, role)
    expires = datetime.fromtimestamp(expires_at, UTC).isoformat()
    return jsonify(schemas.TokenResponse().dump({"token": token, "expires_at": expires})), 201


@route(
    bp,
    "/current",
    "DELETE",
    operation_id="sign_out",
    summary="Sign out: the session ends at once",
    status=204,
    public=True,
)
def delete_token() -> Any:
    app = forebyg()
    current_caller(app)  # only a live session can be ended this way
    app.sign_out(bearer_token())
    return Response(status=204)
