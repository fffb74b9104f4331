"""Fields and schemas every resource shares: tokens, recorded commands, problems, pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from domain.values import (
    EARLIEST_DATE,
    ISO_DATE,
    LATEST_DATE,
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


class BusinessDate(fields.Date):
    """A business date as the public contract writes it, YYYY-MM-DD and nothing else (Python's
    parser would also take ``20270101`` and week dates such as ``2027-W01-1``)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "pattern": ISO_DATE.pattern,
            "description": f"YYYY-MM-DD, from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def happened_on(what: str) -> BusinessDate:
    """The optional business date of the fact a command records: the day it happened, which
    may be earlier than the day it is recorded (the event keeps both)."""
    return BusinessDate(
        load_default=None,
        metadata={
            "description": f"the day {what} (YYYY-MM-DD, from {EARLIEST_DATE.isoformat()}); default"
            " today in Denmark; never in the future, nor before what it must follow (422 naming"
            " this field)"
        },
    )


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
