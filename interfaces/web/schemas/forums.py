"""Forums and their meetings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from interfaces.web.schemas.common import SLUG, BusinessDate, IsoDate, Uuid, happened_on, text

NOT_ABOUT_PEOPLE = (
    "Must not name or identify a person: a text holding a CPR number is refused (422 naming this"
    " field). Free text is treated as personal data all the same: sealed at rest, shown only with"
    " ?purpose= to coordinators and members (never to evaluators), erasable by the DPO and"
    " destroyed by retention."
)


def forum_text(limit: int, *, required: bool = True) -> fields.String:
    """A forum's free text: the API description warns the writer."""
    field = text(limit, required=required)
    field.metadata = {**field.metadata, "description": NOT_ABOUT_PEOPLE}
    return field


class EstablishForumRequest(Schema):
    name = text(200)
    municipality = text(200)
    housing_areas = fields.List(text(200), required=True, validate=validate.Length(min=1, max=50))
    members = fields.List(fields.String(validate=SLUG), load_default=list, validate=validate.Length(max=100))
    established_on = happened_on("the forum was established (its members joined that day)")


class MemberRequest(Schema):
    org = fields.String(required=True, validate=SLUG)
    joined_on = happened_on("the organisation joined: not before the establishment, nor before it last left")


class LeaveQuery(Schema):
    left_on = happened_on("the organisation left: not before it joined")


class ScheduleMeetingRequest(Schema):
    planned_on = BusinessDate(required=True)


class HoldMeetingRequest(Schema):
    held_on = BusinessDate(required=True)
    attendees = fields.List(
        fields.String(validate=SLUG), required=True, validate=validate.Length(min=1, max=100)
    )
    discussed_cases = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=200))
    summary = forum_text(2000, required=False)


class CancelMeetingRequest(Schema):
    reason = forum_text(500, required=False)
    cancelled_on = happened_on("the meeting was cancelled: not before the establishment")


class AreaMappingRequest(Schema):
    recorded_on = BusinessDate(required=True)
    housing_area = text(200)
    resources = forum_text(4000)
    challenges = forum_text(4000)


class MeetingResponse(Schema):
    meeting_id = Uuid(required=True)
    planned_on = IsoDate(required=True)
    status = fields.String(required=True)
    held_on = IsoDate(allow_none=True)
    cancelled_on = IsoDate(allow_none=True)
    attendees = fields.List(fields.String())
    discussed_cases = fields.List(Uuid())
    summary = fields.String(metadata={"description": "only with ?purpose=, for coordinators and members"})
    cancel_reason = fields.String(
        metadata={"description": "only with ?purpose=, for coordinators and members"}
    )


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


class ForumResponse(ForumSummaryResponse):
    """A forum with its meetings and area mappings."""

    meetings = fields.List(fields.Nested(MeetingResponse))
    area_mappings = fields.List(
        fields.Dict(),
        metadata={
            "description": "recorded_on and housing_area; resources and challenges only with ?purpose=,"
            " for coordinators and members"
        },
    )
    dissolution_reason = fields.String(
        allow_none=True, metadata={"description": "only with ?purpose=, for coordinators and members"}
    )


class ForumReadQuery(Schema):
    purpose = fields.String(
        load_default=None,
        validate=validate.Length(min=3, max=500),
        metadata={"description": "why you read the forum's free texts; the read is logged"},
    )


class ForumTextErasureRequest(Schema):
    reason = text(500)
    meeting_id = fields.UUID(load_default=None, metadata={"description": "only this meeting's texts"})


class ForumListResponse(Schema):
    items = fields.List(fields.Nested(ForumSummaryResponse), required=True)
