"""Follow-up: reminders fallen due in the caller's forums, and the organisation's inbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from application.accounts import Caller
from interfaces.web import schemas
from interfaces.web.api import forebyg, route
from interfaces.web.reads import read

bp = Blueprint("followup", __name__, url_prefix="/api")


@route(
    bp,
    "/reminders",
    "GET",
    operation_id="list_reminders",
    summary="Reminders fallen due (sent or not) in a coordinator's forums",
    response=schemas.ReminderListResponse,
)
def list_reminders(caller: Caller) -> Any:
    return read({"items": forebyg().list_reminders(caller=caller)}, schemas.ReminderListResponse)


@route(
    bp,
    "/inbox",
    "GET",
    operation_id="list_inbox",
    summary="Reminders delivered to the caller's organisation, newest first",
    query=schemas.PageQuery,
    response=schemas.InboxResponse,
)
def list_inbox(caller: Caller, query: dict[str, Any]) -> Any:
    items = forebyg().list_inbox(limit=query["limit"], offset=query["offset"], caller=caller)
    return read({"items": items}, schemas.InboxResponse)
