"""User accounts, as an administrator manages them: reading one, resetting its password."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.accounts import MIN_PASSWORD
from interfaces.web.schemas.common import STORABLE, IsoDateTime


class UserResponse(Schema):
    username = fields.String(required=True)
    org = fields.String(required=True)
    role = fields.String(required=True)
    email = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    deactivated_by = fields.String(allow_none=True)
    deactivated_at = IsoDateTime(allow_none=True)
    version = fields.Integer(required=True)


class PasswordResetRequest(Schema):
    password = fields.String(
        required=True, validate=[validate.Length(min=MIN_PASSWORD, max=256), STORABLE], load_only=True
    )
