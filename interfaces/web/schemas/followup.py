"""Follow-up: reminders, the inbox and the meeting agenda."""

from __future__ import annotations

from marshmallow import Schema, fields

from interfaces.web.schemas.common import IsoDate, IsoDateTime, Uuid


class _Reminder(Schema):
    """What a reminder due and a delivered one (an inbox item) both say."""

    key = fields.String(required=True)
    rule = fields.String(required=True)
    due_on = IsoDate(required=True)
    forum_id = Uuid(required=True)
    case_id = Uuid(allow_none=True)
    action_id = Uuid(allow_none=True)
    recipient_org = fields.String(required=True)


class ReminderResponse(_Reminder):
    fire_on = IsoDate(required=True)
    sent = fields.Boolean(required=True)


class ReminderListResponse(Schema):
    items = fields.List(fields.Nested(ReminderResponse), required=True)


class InboxItemResponse(_Reminder):
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
