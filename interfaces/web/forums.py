"""Forums: establishing, membership, meetings, area mapping — and reading them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint

from application.receipts import Recorded
from interfaces.web import schemas
from interfaces.web.api import Command, forebyg, route
from interfaces.web.reads import read

bp = Blueprint("forums", __name__, url_prefix="/api/forums")


@route(
    bp,
    "",
    "POST",
    summary="Establish a forum; the caller's organisation chairs it",
    request_schema=schemas.EstablishForumRequest,
    response=schemas.RecordedResponse,
    status=201,
)
def establish_forum(ctx: Command, body: dict[str, Any]) -> Recorded:
    return forebyg().establish_forum(
        **body, forum_id=ctx.new_id("forum"), caller=ctx.caller, idempotency=ctx.idempotency
    )


@route(
    bp,
    "",
    "GET",
    summary="Forums the caller's organisation is a member of",
    response=schemas.ForumListResponse,
)
def list_forums(caller: Any) -> Any:
    return read({"items": forebyg().list_forums(caller=caller)}, schemas.ForumListResponse)


@route(
    bp,
    "/<uuid:forum_id>",
    "GET",
    summary="One forum with its members and meetings; free texts only with ?purpose= and a role allowed them",
    query=schemas.ForumReadQuery,
    response=schemas.ForumResponse,
    etag_header=True,
)
def get_forum(caller: Any, query: dict[str, Any], forum_id: UUID) -> Any:
    forum = forebyg().get_forum(forum_id, purpose=query["purpose"], caller=caller)
    return read(forum, schemas.ForumResponse, personal="dissolution_reason" in forum)


@route(
    bp,
    "/<uuid:forum_id>/text-erasure",
    "POST",
    summary="Erase the forum's free texts, or one meeting's (their keys are destroyed); DPO only",
    request_schema=schemas.ForumTextErasureRequest,
    response=schemas.RecordedResponse,
)
def erase_forum_texts(ctx: Command, body: dict[str, Any], forum_id: UUID) -> Recorded:
    return forebyg().erase_forum_texts(forum_id, **body, caller=ctx.caller)


@route(
    bp,
    "/<uuid:forum_id>/members",
    "POST",
    summary="An organisation joins the forum",
    request_schema=schemas.MemberRequest,
    response=schemas.RecordedResponse,
)
def add_member(ctx: Command, body: dict[str, Any], forum_id: UUID) -> Recorded:
    return forebyg().add_member(
        forum_id,
        body["org"],
        body["joined_on"],
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:forum_id>/members/<string:org>",
    "DELETE",
    summary="An organisation leaves the forum (?left_on=, default today)",
    query=schemas.LeaveQuery,
    response=schemas.RecordedResponse,
)
def remove_member(ctx: Command, query: dict[str, Any], forum_id: UUID, org: str) -> Recorded:
    return forebyg().remove_member(
        forum_id,
        org,
        query["left_on"],
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:forum_id>/meetings",
    "POST",
    summary="Schedule a meeting",
    request_schema=schemas.ScheduleMeetingRequest,
    response=schemas.MeetingRecordedResponse,
    status=201,
)
def schedule_meeting(ctx: Command, body: dict[str, Any], forum_id: UUID) -> Recorded:
    return forebyg().schedule_meeting(
        forum_id,
        body["planned_on"],
        meeting_id=ctx.new_id("meeting"),
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:forum_id>/meetings/<uuid:meeting_id>/held",
    "POST",
    summary="Record a meeting as held, and a discussion on every case discussed (atomically)",
    request_schema=schemas.HoldMeetingRequest,
    response=schemas.MeetingRecordedResponse,
)
def hold_meeting(ctx: Command, body: dict[str, Any], forum_id: UUID, meeting_id: UUID) -> Recorded:
    return forebyg().hold_meeting(
        forum_id,
        meeting_id,
        **body,
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:forum_id>/meetings/<uuid:meeting_id>/cancellation",
    "POST",
    summary="Cancel a meeting",
    request_schema=schemas.CancelMeetingRequest,
    response=schemas.MeetingRecordedResponse,
)
def cancel_meeting(ctx: Command, body: dict[str, Any], forum_id: UUID, meeting_id: UUID) -> Recorded:
    return forebyg().cancel_meeting(
        forum_id,
        meeting_id,
        body["reason"],
        cancelled_on=body["cancelled_on"],
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:forum_id>/area-mappings",
    "POST",
    summary="Record the area's resources and challenges (aggregated, no personal data)",
    request_schema=schemas.AreaMappingRequest,
    response=schemas.RecordedResponse,
)
def record_area_mapping(ctx: Command, body: dict[str, Any], forum_id: UUID) -> Recorded:
    return forebyg().record_area_mapping(
        forum_id,
        **body,
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:forum_id>/agenda",
    "GET",
    summary="The next meeting's agenda: new referrals, overdue actions, reviews due, cases to discuss",
    response=schemas.AgendaResponse,
)
def get_agenda(caller: Any, forum_id: UUID) -> Any:
    return read(forebyg().get_agenda(forum_id, caller=caller), schemas.AgendaResponse)
