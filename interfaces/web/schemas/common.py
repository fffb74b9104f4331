"""Fields and schemas every resource shares: tokens, recorded commands, problems, pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from domain.values import (
    EARLIEST_DATE,
    FREE_TEXT_FORBIDDEN,
    ISO_DATE,
    LATEST_DATE,
    LINE_FORBIDDEN,
    ActionKind,
    CaseStatus,
    ClosureReason,
    Decision,
    LegalBasis,
    TargetGroup,
)

# What the API refuses in any string of any request, before any schema (interfaces/web/api.py):
# characters no store keeps faithfully. A string field without a stricter pattern states this.
# (The lone surrogates it refuses too are left out of the document's pattern, as in domain/values.py.)
UNSTORABLE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
STORABLE = validate.Regexp(
    f"^[^{UNSTORABLE}]*$", error="must not contain control characters or invalid unicode"
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


def text_pattern(*, single_line: bool, required: bool) -> str:
    """The characters a text may hold, as the domain checks them (``FREE_TEXT`` or ``LINE``), as
    a pattern that reads alike in Python and in the OpenAPI document; a required text holds
    something besides white space (which is trimmed)."""
    forbidden = LINE_FORBIDDEN if single_line else FREE_TEXT_FORBIDDEN
    if required:
        # white space that is not forbidden (a form feed is white space too), then a visible character
        return rf"^[^{forbidden}\S]*[^{forbidden}\s][^{forbidden}]*$"
    return f"^[^{forbidden}]*$"


TEXT_RULES = (
    "No control character but tab and line breaks, no C1 control, zero-width character, byte-order"
    " mark, bidirectional override or isolate, nor lone surrogate; surrounding white space is trimmed."
)
LINE_RULES = (
    "One line: no control character at all (nor tab or line break), no line or paragraph separator,"
    " C1 control, zero-width character, byte-order mark, bidirectional override or isolate, nor lone"
    " surrogate; surrounding white space is trimmed."
)


PURPOSE_ERROR = "must be one line of visible text, without control or invisible characters"


def text(limit: int, *, required: bool = True, single_line: bool = False) -> fields.String:
    """A text field: a free text (may span lines) or, ``single_line``, one line (a name)."""
    checks = [
        validate.Length(min=1 if required else 0, max=limit),
        validate.Regexp(
            text_pattern(single_line=single_line, required=required),
            error="must hold visible text: "
            + (
                "one line, without control or invisible characters"
                if single_line
                else "no control or invisible characters"
            ),
        ),
    ]
    metadata = {"description": LINE_RULES if single_line else TEXT_RULES}
    if required:
        return fields.String(required=True, validate=checks, metadata=metadata)
    return fields.String(load_default="", validate=checks, metadata=metadata)


def line(limit: int, *, required: bool = True) -> fields.String:
    """A single-line text field: a name, a housing area."""
    return text(limit, required=required, single_line=True)


# YYYY-MM-DD within EARLIEST_DATE..LATEST_DATE (1900-01-01..2100-12-31), as a pattern: the range
# the domain enforces, stated in the document (which day a month has is the `date` format's).
BUSINESS_DATE_PATTERN = r"^(?:19[0-9]{2}|20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
assert (EARLIEST_DATE.isoformat(), LATEST_DATE.isoformat()) == ("1900-01-01", "2100-12-31")


class BusinessDate(fields.Date):
    """A business date as the public contract writes it, YYYY-MM-DD and nothing else (Python's
    parser would also take ``20270101`` and week dates such as ``2027-W01-1``)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "pattern": BUSINESS_DATE_PATTERN,
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
    username = fields.String(required=True, validate=[validate.Length(min=1, max=64), STORABLE])
    password = fields.String(
        required=True, validate=[validate.Length(min=1, max=256), STORABLE], load_only=True
    )


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
