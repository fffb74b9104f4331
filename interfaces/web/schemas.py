"""Request and response schemas of the JSON API: the edge, and the source of the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from domain.values import (
    ActionKind,
    CaseStatus,
    ClosureReason,
    Decision,
    LegalBasis,
    TargetGroup,
)

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="an organisation slug (a-z, 0-9, '-')")


def words(
    vocabulary: type[TargetGroup]
    | type[LegalBasis]
    | type[Decision]
    | type[ActionKind]
    | type[ClosureReason]
    | type[CaseStatus],
) -> validate.OneOf:
    return validate.OneOf(vocabulary.words())


def text(limit: int, *, required: bool = True) -> fields.String:
    length = validate.Length(min=1 if required else 0, max=limit)
    if required:
        return fields.String(required=True, validate=length)
    return fields.String(load_default="", validate=length)


class IsoDate(fields.String):
    """A business date the application already wrote as YYYY-MM-DD."""


class IsoDateTime(fields.String):
    """An instant the application already wrote in ISO 8601."""


class Uuid(fields.String):
    """An id, written as a UUID string."""


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class TokenResponse(Schema):
    token = fields.String(required=True)
    expires_at = IsoDateTime(required=True)


class RecordedResponse(Schema):
    id = Uuid(required=True)
    version = fields.Integer(required=True)


class MeetingRecordedResponse(RecordedResponse):
    meeting_id = Uuid(required=True)


class ActionRecordedResponse(RecordedResponse):
    action_id = Uuid(required=True)


class CaseRecordedResponse(RecordedResponse):
    subject_id = Uuid(required=True)


# --- forums -------------------------------------------------------------------------


class EstablishForumRequest(Schema):
    name = text(200)
    municipality = text(200)
    housing_areas = fields.List(text(200), required=True, validate=validate.Length(min=1, max=50))
    members = fields.List(fields.String(validate=SLUG), load_default=list, validate=validate.Length(max=100))


class MemberRequest(Schema):
    org = fields.String(required=True, validate=SLUG)


class ScheduleMeetingRequest(Schema):
    planned_on = fields.Date(required=True)


class HoldMeetingRequest(Schema):
    held_on = fields.Date(required=True)
    attendees = fields.List(
        fields.String(validate=SLUG), required=True, validate=validate.Length(min=1, max=100)
    )
    discussed_cases = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=200))
    summary = text(2000, required=False)


class CancelMeetingRequest(Schema):
    reason = text(500, required=False)


class AreaMappingRequest(Schema):
    recorded_on = fields.Date(required=True)
    housing_area = text(200)
    resources = text(4000)
    challenges = text(4000)


class MeetingResponse(Schema):
    meeting_id = Uuid(required=True)
    planned_on = IsoDate(required=True)
    status = fields.String(required=True)
    held_on = IsoDate(allow_none=True)
    attendees = fields.List(fields.String())
    discussed_cases = fields.List(Uuid())
    summary = fields.String()
    cancel_reason = fields.String()


class ForumResponse(Schema):
    id = Uuid(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    municipality = fields.String(required=True)
    housing_areas = fields.List(fields.String(), required=True)
    chair_org = fields.String(required=True)
    established_on = IsoDate(required=True)
    members = fields.List(fields.String(), required=True)
    meetings = fields.List(fields.Nested(MeetingResponse))
    area_mappings = fields.List(fields.Dict())
    dissolved_on = IsoDate(allow_none=True)


class ForumSummaryResponse(Schema):
    id = Uuid(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    municipality = fields.String(required=True)
    housing_areas = fields.List(fields.String(), required=True)
    chair_org = fields.String(required=True)
    members = fields.List(fields.String(), required=True)
    established_on = IsoDate(required=True)
    dissolved_on = IsoDate(allow_none=True)


class ForumListResponse(Schema):
    items = fields.List(fields.Nested(ForumSummaryResponse), required=True)


# --- cases --------------------------------------------------------------------------


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
    received_on = fields.Date(required=True)
    legal_basis = fields.String(required=True, validate=words(LegalBasis))
    concern = text(10_000)
    subject = fields.Nested(SubjectRequest, required=True)


class AssessCaseRequest(Schema):
    assessed_on = fields.Date(required=True)
    decision = fields.String(required=True, validate=words(Decision))
    risk_and_threat = text(10_000)
    wellbeing_and_resilience = text(10_000)
    judgement = text(10_000)


class AgreeActionRequest(Schema):
    kind = fields.String(required=True, validate=words(ActionKind))
    description = text(4000)
    responsible_org = fields.String(required=True, validate=SLUG)
    due_on = fields.Date(required=True)
    meeting_id = fields.UUID(load_default=None, allow_none=True)


class RescheduleActionRequest(Schema):
    due_on = fields.Date(required=True)
    reason = text(2000)


class CompleteActionRequest(Schema):
    completed_on = fields.Date(required=True)
    outcome = text(4000)


class CancelActionRequest(Schema):
    cancelled_on = fields.Date(required=True)
    reason = text(2000)


class ScheduleReviewRequest(Schema):
    review_on = fields.Date(required=True)


class RecordReviewRequest(Schema):
    reviewed_on = fields.Date(required=True)
    notes = text(4000)


class CloseCaseRequest(Schema):
    closed_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=words(ClosureReason))
    summary = text(4000)
    post_closure_review_on = fields.Date(load_default=None, allow_none=True)


class ReopenCaseRequest(Schema):
    reopened_on = fields.Date(required=True)
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


class ProblemResponse(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    current_version = fields.Integer(metadata={"description": "412: the resource's current version"})
    rule = fields.String(metadata={"description": "409: the rule of the model that refused"})


class PageQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class ReminderResponse(Schema):
    key = fields.String(required=True)
    rule = fields.String(required=True)
    fire_on = IsoDate(required=True)
    due_on = IsoDate(required=True)
    forum_id = Uuid(required=True)
    case_id = Uuid(allow_none=True)
    action_id = Uuid(allow_none=True)
    recipient_org = fields.String(required=True)
    sent = fields.Boolean(required=True)


class ReminderListResponse(Schema):
    items = fields.List(fields.Nested(ReminderResponse), required=True)


class InboxItemResponse(Schema):
    key = fields.String(required=True)
    rule = fields.String(required=True)
    forum_id = Uuid(required=True)
    case_id = Uuid(allow_none=True)
    action_id = Uuid(allow_none=True)
    due_on = IsoDate(required=True)
    recipient_org = fields.String(required=True)
    channel = fields.String(required=True)
    sent_on = IsoDate(required=True)
    recorded_at = IsoDateTime(required=True)


class InboxResponse(Schema):
    items = fields.List(fields.Nested(InboxItemResponse), required=True)


class AgendaCaseResponse(Schema):
    id = Uuid(required=True)
    status = fields.String(required=True)
    target_group = fields.String(required=True)
    received_on = IsoDate(required=True)
    assessed_on = IsoDate(allow_none=True)
    last_discussed_on = IsoDate(allow_none=True)
    next_due_on = IsoDate(allow_none=True)
    next_review_on = IsoDate(allow_none=True)


class AgendaActionResponse(Schema):
    action_id = Uuid(required=True)
    case_id = Uuid(required=True)
    kind = fields.String(required=True)
    responsible_org = fields.String(required=True)
    due_on = IsoDate(required=True)
    agreed_on = IsoDate(required=True)


class AgendaResponse(Schema):
    forum_id = Uuid(required=True)
    as_of = IsoDate(required=True)
    next_meeting_on = IsoDate(allow_none=True)
    new_referrals = fields.List(fields.Nested(AgendaCaseResponse), required=True)
    overdue_actions = fields.List(fields.Nested(AgendaActionResponse), required=True)
    reviews_due = fields.List(fields.Nested(AgendaCaseResponse), required=True)
    cases_to_discuss = fields.List(fields.Nested(AgendaCaseResponse), required=True)


class ErasureRequest(Schema):
    reason = text(500)


class AccessEntryResponse(Schema):
    id = fields.String(required=True)
    at = IsoDateTime(required=True)
    username = fields.String(required=True)
    org = fields.String(required=True)
    role = fields.String(required=True)
    kind = fields.String(required=True)
    case_id = Uuid(allow_none=True)
    subject_id = Uuid(allow_none=True)
    purpose = fields.String(required=True)
    legal_basis = fields.String(allow_none=True)


class AccessLogResponse(Schema):
    items = fields.List(fields.Nested(AccessEntryResponse), required=True)


class AccessReportResponse(Schema):
    subject_id = Uuid(required=True)
    created_at = IsoDateTime(required=True)
    erased_at = IsoDateTime(allow_none=True)
    erasure_reason = fields.String(allow_none=True)
    case_ids = fields.List(Uuid(), required=True)
    accesses = fields.List(fields.Nested(AccessEntryResponse), required=True)


class RetentionEntryResponse(Schema):
    subject_id = Uuid(required=True)
    case_ids = fields.List(Uuid(), required=True)
    erase_on = IsoDate(required=True)


class RetentionResponse(Schema):
    items = fields.List(fields.Nested(RetentionEntryResponse), required=True)
