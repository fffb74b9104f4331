"""Cases: referral, assessment, actions, reviews, closure; reads and histories."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from domain.values import ActionKind, CaseStatus, ClosureReason, Decision, LegalBasis, TargetGroup
from interfaces.web.schemas.common import (
    SLUG,
    BusinessDate,
    IsoDate,
    IsoDateTime,
    Uuid,
    happened_on,
    text,
    words,
)


class SubjectRequest(Schema):
    name = text(200)
    cpr = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\d{6}-?\d{4}$", error="a CPR number is DDMMYY-XXXX"),
    )
    birth_year = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(1900, 2100)
    )


class ReferCaseRequest(Schema):
    forum_id = fields.UUID(required=True)
    target_group = fields.String(required=True, validate=words(TargetGroup))
    referred_by = fields.String(required=True, validate=SLUG)
    received_on = BusinessDate(required=True)
    legal_basis = fields.String(required=True, validate=words(LegalBasis))
    concern = text(10_000)
    subject = fields.Nested(SubjectRequest, required=True)


class AssessCaseRequest(Schema):
    assessed_on = BusinessDate(required=True)
    decision = fields.String(required=True, validate=words(Decision))
    risk_and_threat = text(10_000)
    wellbeing_and_resilience = text(10_000)
    judgement = text(10_000)


class AgreeActionRequest(Schema):
    kind = fields.String(required=True, validate=words(ActionKind))
    description = text(4000)
    responsible_org = fields.String(required=True, validate=SLUG)
    due_on = BusinessDate(required=True)
    meeting_id = fields.UUID(load_default=None, allow_none=True)
    agreed_on = happened_on(
        "the action was agreed: with meeting_id, the meeting's held_on by default and not before it;"
        " not before the referral; due_on is not before it"
    )


class RescheduleActionRequest(Schema):
    due_on = BusinessDate(required=True)
    reason = text(2000)
    rescheduled_on = happened_on(
        "the due date was moved: not before the action was agreed; due_on is not before it"
    )


class CompleteActionRequest(Schema):
    completed_on = BusinessDate(required=True)
    outcome = text(4000)


class CancelActionRequest(Schema):
    cancelled_on = BusinessDate(required=True)
    reason = text(2000)


class ScheduleReviewRequest(Schema):
    review_on = BusinessDate(required=True)
    scheduled_on = happened_on(
        "the review was scheduled: not before the referral; review_on is not before it"
    )


class RecordReviewRequest(Schema):
    reviewed_on = BusinessDate(required=True)
    notes = text(4000)


class CloseCaseRequest(Schema):
    closed_on = BusinessDate(required=True)
    reason = fields.String(required=True, validate=words(ClosureReason))
    summary = text(4000)
    post_closure_review_on = BusinessDate(load_default=None, allow_none=True)


class ReopenCaseRequest(Schema):
    reopened_on = BusinessDate(required=True)
    reason = text(2000)


class CaseListQuery(Schema):
    forum = fields.UUID(load_default=None)
    status = fields.String(load_default=None, validate=words(CaseStatus))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class CaseReadQuery(Schema):
    purpose = fields.String(load_default=None, validate=validate.Length(min=3, max=500))


class HistoryQuery(CaseReadQuery):
    as_of = fields.AwareDateTime(load_default=None, default_timezone=None)


class ActionResponse(Schema):
    action_id = Uuid(required=True)
    kind = fields.String(required=True)
    responsible_org = fields.String(required=True)
    due_on = IsoDate(required=True)
    agreed_on = IsoDate(required=True)
    meeting_id = Uuid(allow_none=True)
    status = fields.String(required=True)
    completed_on = IsoDate(allow_none=True)
    cancelled_on = IsoDate(allow_none=True)
    last_event_on = IsoDate(allow_none=True)
    description = fields.String()
    outcome = fields.String()
    cancel_reason = fields.String()


class SubjectResponse(Schema):
    name = fields.String()
    cpr = fields.String(allow_none=True)
    birth_year = fields.Integer(allow_none=True)


class CaseResponse(Schema):
    id = Uuid(required=True)
    version = fields.Integer(required=True)
    forum_id = Uuid(required=True)
    subject_id = Uuid()
    status = fields.String(required=True)
    target_group = fields.String(required=True)
    referred_by = fields.String(required=True)
    received_on = IsoDate(required=True)
    legal_basis = fields.String(required=True)
    decision = fields.String(allow_none=True)
    assessed_on = IsoDate(allow_none=True)
    discussed_at = fields.List(Uuid())
    discussed_on = fields.List(IsoDate())
    actions = fields.List(fields.Nested(ActionResponse))
    next_due_on = IsoDate(allow_none=True)
    next_review_on = IsoDate(allow_none=True)
    reviews = fields.List(IsoDate())
    closed_on = IsoDate(allow_none=True)
    closure_reason = fields.String(allow_none=True)
    post_closure_review_on = IsoDate(allow_none=True)
    reopened_on = fields.List(IsoDate())
    created_at = IsoDateTime()
    modified_at = IsoDateTime()
    subject = fields.Nested(SubjectResponse)
    concern = fields.String()
    assessment = fields.Dict(keys=fields.String(), values=fields.String())
    closure_summary = fields.String()


class CaseSummaryResponse(Schema):
    id = Uuid(required=True)
    forum_id = Uuid(required=True)
    status = fields.String(required=True)
    target_group = fields.String(required=True)
    referred_by = fields.String(required=True)
    received_on = IsoDate(required=True)
    open_actions = fields.Integer(required=True)
    next_due_on = IsoDate(allow_none=True)
    next_review_on = IsoDate(allow_none=True)
    closed_on = IsoDate(allow_none=True)
    closure_reason = fields.String(allow_none=True)
    version = fields.Integer(required=True)


class CaseListResponse(Schema):
    items = fields.List(fields.Nested(CaseSummaryResponse), required=True)


class HistoryEntryResponse(Schema):
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    recorded_at = IsoDateTime(required=True)
    data = fields.Dict(required=True)


class HistoryResponse(Schema):
    id = Uuid(required=True)
    version = fields.Integer(required=True)
    events = fields.List(fields.Nested(HistoryEntryResponse), required=True)
