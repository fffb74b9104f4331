"""Privacy: erasure, the access log, a subject's access report, the retention schedule."""

from __future__ import annotations

from marshmallow import Schema, fields

from interfaces.web.schemas.common import IsoDate, IsoDateTime, Uuid, text


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
