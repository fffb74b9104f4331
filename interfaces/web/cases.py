"""Cases: referral, assessment, actions, reviews, closure, reopening — and reading them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint

from application.accounts import Caller
from application.receipts import Recorded
from domain.values import Subject
from interfaces.web import schemas
from interfaces.web.api import Command, forebyg, route
from interfaces.web.reads import read

bp = Blueprint("cases", __name__, url_prefix="/api/cases")


@route(
    bp,
    "",
    "POST",
    operation_id="refer_case",
    summary="Register a concern about one person with a forum",
    request_schema=schemas.ReferCaseRequest,
    response=schemas.CaseRecordedResponse,
    status=201,
)
def refer_case(ctx: Command, body: dict[str, Any]) -> Recorded:
    subject = Subject.parse(**body.pop("subject"))
    return forebyg().refer_case(
        **body,
        subject=subject,
        case_id=ctx.new_id("case"),
        subject_id=ctx.new_id("subject"),
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "",
    "GET",
    operation_id="list_cases",
    summary="Cases of the caller's forums, newest referral first (no personal data)",
    query=schemas.CaseListQuery,
    response=schemas.CaseListResponse,
)
def list_cases(caller: Caller, query: dict[str, Any]) -> Any:
    items = forebyg().list_cases(
        forum_id=query["forum"],
        status=query["status"],
        limit=query["limit"],
        offset=query["offset"],
        caller=caller,
    )
    return read({"items": items}, schemas.CaseListResponse)


@route(
    bp,
    "/<uuid:case_id>",
    "GET",
    operation_id="get_case",
    summary="One case; personal fields only with ?purpose= and a role allowed to see them",
    query=schemas.CaseReadQuery,
    response=schemas.CaseResponse,
    etag_header=True,
)
def get_case(caller: Caller, query: dict[str, Any], case_id: UUID) -> Any:
    case = forebyg().get_case(case_id, purpose=query["purpose"], caller=caller)
    return read(case, schemas.CaseResponse, personal="subject" in case)


@route(
    bp,
    "/<uuid:case_id>/history",
    "GET",
    operation_id="get_case_history",
    summary="The case's events with business dates and recorded instants, optionally as of an instant",
    query=schemas.HistoryQuery,
    response=schemas.HistoryResponse,
    etag_header=True,
)
def get_history(caller: Caller, query: dict[str, Any], case_id: UUID) -> Any:
    events = forebyg().get_case_history(
        case_id, as_of=query["as_of"], purpose=query["purpose"], caller=caller
    )
    version = events[-1]["version"] if events else 0
    personal = bool(query["purpose"]) and caller.sees_personal_data
    return read(
        {"id": case_id, "version": version, "events": events}, schemas.HistoryResponse, personal=personal
    )


@route(
    bp,
    "/<uuid:case_id>/assessment",
    "POST",
    operation_id="assess_case",
    summary="Assess the concern",
    request_schema=schemas.AssessCaseRequest,
    response=schemas.RecordedResponse,
)
def assess_case(ctx: Command, body: dict[str, Any], case_id: UUID) -> Recorded:
    return forebyg().assess_case(
        case_id, **body, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )


@route(
    bp,
    "/<uuid:case_id>/actions",
    "POST",
    operation_id="agree_action",
    summary="Agree an action with one responsible organisation and a due date",
    request_schema=schemas.AgreeActionRequest,
    response=schemas.ActionRecordedResponse,
    status=201,
)
def agree_action(ctx: Command, body: dict[str, Any], case_id: UUID) -> Recorded:
    return forebyg().agree_action(
        case_id,
        **body,
        action_id=ctx.new_id("action"),
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:case_id>/actions/<uuid:action_id>/rescheduling",
    "POST",
    operation_id="reschedule_action",
    summary="Move an action's due date",
    request_schema=schemas.RescheduleActionRequest,
    response=schemas.ActionRecordedResponse,
)
def reschedule_action(ctx: Command, body: dict[str, Any], case_id: UUID, action_id: UUID) -> Recorded:
    return forebyg().reschedule_action(
        case_id,
        action_id,
        **body,
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:case_id>/actions/<uuid:action_id>/completion",
    "POST",
    operation_id="complete_action",
    summary="Complete an action (members: only their organisation's)",
    request_schema=schemas.CompleteActionRequest,
    response=schemas.ActionRecordedResponse,
)
def complete_action(ctx: Command, body: dict[str, Any], case_id: UUID, action_id: UUID) -> Recorded:
    return forebyg().complete_action(
        case_id,
        action_id,
        **body,
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:case_id>/actions/<uuid:action_id>/cancellation",
    "POST",
    operation_id="cancel_action",
    summary="Cancel an action",
    request_schema=schemas.CancelActionRequest,
    response=schemas.ActionRecordedResponse,
)
def cancel_action(ctx: Command, body: dict[str, Any], case_id: UUID, action_id: UUID) -> Recorded:
    return forebyg().cancel_action(
        case_id,
        action_id,
        **body,
        expected_version=ctx.expected_version,
        caller=ctx.caller,
        idempotency=ctx.idempotency,
    )


@route(
    bp,
    "/<uuid:case_id>/review-schedule",
    "POST",
    operation_id="schedule_review",
    summary="Schedule a review of the case",
    request_schema=schemas.ScheduleReviewRequest,
    response=schemas.RecordedResponse,
)
def schedule_review(ctx: Command, body: dict[str, Any], case_id: UUID) -> Recorded:
    return forebyg().schedule_review(
        case_id, **body, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )


@route(
    bp,
    "/<uuid:case_id>/reviews",
    "POST",
    operation_id="record_review",
    summary="Record a review (or the post-closure review)",
    request_schema=schemas.RecordReviewRequest,
    response=schemas.RecordedResponse,
)
def record_review(ctx: Command, body: dict[str, Any], case_id: UUID) -> Recorded:
    return forebyg().record_review(
        case_id, **body, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )


@route(
    bp,
    "/<uuid:case_id>/closure",
    "POST",
    operation_id="close_case",
    summary="Close the case with a reason",
    request_schema=schemas.CloseCaseRequest,
    response=schemas.RecordedResponse,
)
def close_case(ctx: Command, body: dict[str, Any], case_id: UUID) -> Recorded:
    return forebyg().close_case(
        case_id, **body, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )


@route(
    bp,
    "/<uuid:case_id>/reopening",
    "POST",
    operation_id="reopen_case",
    summary="Reopen a closed case; it is assessed afresh",
    request_schema=schemas.ReopenCaseRequest,
    response=schemas.RecordedResponse,
)
def reopen_case(ctx: Command, body: dict[str, Any], case_id: UUID) -> Recorded:
    return forebyg().reopen_case(
        case_id, **body, expected_version=ctx.expected_version, caller=ctx.caller, idempotency=ctx.idempotency
    )
