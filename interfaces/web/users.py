"""User accounts, for administrators: read one; deactivate it, reset its password, or sign it
out everywhere — each ends the user's sessions at once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from application.accounts import Caller
from application.receipts import Recorded
from interfaces.web import schemas
from interfaces.web.api import Command, forebyg, route
from interfaces.web.reads import read

bp = Blueprint("users", __name__, url_prefix="/api/users")


@route(
    bp,
    "/<string:username>",
    "GET",
    operation_id="get_user",
    summary="One user account: organisation, role, whether active; administrators only",
    response=schemas.UserResponse,
    etag_header=True,
)
def get_user(caller: Caller, username: str) -> Any:
    return read(forebyg().get_user(username, caller=caller), schemas.UserResponse)


@route(
    bp,
    "/<string:username>/deactivation",
    "POST",
    operation_id="deactivate_user",
    summary="Deactivate a user: no more sign-ins, every session ends at once; administrators only",
    response=schemas.RecordedResponse,
)
def deactivate_user(ctx: Command, username: str) -> Recorded:
    return forebyg().deactivate_user(
        username, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )


@route(
    bp,
    "/<string:username>/password-reset",
    "POST",
    operation_id="reset_password",
    summary="Give a user a new password; every session of theirs ends; administrators only",
    request_schema=schemas.PasswordResetRequest,
    response=schemas.RecordedResponse,
)
def reset_password(ctx: Command, body: dict[str, Any], username: str) -> Recorded:
    return forebyg().reset_password(
        username,
        body["password"],
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<string:username>/sign-out",
    "POST",
    operation_id="end_user_sessions",
    summary="Sign a user out everywhere: every session of theirs ends; administrators only",
    response=schemas.RecordedResponse,
)
def sign_out_user(ctx: Command, username: str) -> Recorded:
    return forebyg().sign_out_user(
        username, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )
