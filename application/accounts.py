"""Organisations and user accounts, event-sourced beside the cases (so every change is audited).

Ids are derived from the slug / username, so looking one up needs no index and creating a
duplicate collides in the event store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID, uuid5

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.domain import Aggregate, event

from application.errors import AccountDeactivatedError
from domain.errors import InvalidValueError
from domain.values import LINE, OrgKind, Role, line, org_slug

ACCOUNTS = UUID("c8f3e1d2-7a4b-4c5d-9e6f-0a1b2c3d4e5f")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# argon2id (RFC 9106 second recommended set, lighter memory for small servers)
HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)
MIN_PASSWORD = 12


def org_id(slug: str) -> UUID:
    return uuid5(ACCOUNTS, f"org:{slug}")


def user_id(username: str) -> UUID:
    return uuid5(ACCOUNTS, f"user:{username}")


def email_address(value: object, field: str = "email") -> str | None:
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or not EMAIL.fullmatch(value)
        or not LINE.fullmatch(value)
        or len(value) > 254
    ):
        raise InvalidValueError(field, f"{value!r} is not an e-mail address")
    return value


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidValueError("password", f"must be at least {MIN_PASSWORD} characters")
    return HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Organisation(Aggregate):
    """A partner organisation: a forum's members are organisations."""

    @event("Registered")
    def __init__(self, slug: str, name: str, kind: OrgKind, email: str | None) -> None:
        self.slug = slug
        self.name = name
        self.kind = kind
        self.email = email

    @classmethod
    def register(cls, slug: object, name: object, kind: object, email: object = None) -> Organisation:
        clean = org_slug(slug, "slug")
        return cls._create(
            cls.Registered,  # type: ignore[attr-defined]
            id=org_id(clean),
            slug=clean,
            name=line(name, "name", limit=200),
            kind=OrgKind.parse(kind, "kind"),
            email=email_address(email),
        )


class UserAccount(Aggregate):
    """A person who signs in; belongs to one organisation and has one role."""

    @event("Created")
    def __init__(self, username: str, org: str, role: Role, password_hash: str, email: str | None) -> None:
        self.username = username
        self.org = org
        self.role = role
        self.password_hash = password_hash
        self.email = email
        self.active = True
        self.sessions_since = 0.0  # sessions opened before this instant (epoch seconds) are ended
        self.deactivated_by: str | None = None
        self.deactivated_at: float | None = None

    @classmethod
    def create(
        cls, username: object, org: str, role: object, password_hash: str, email: object = None
    ) -> UserAccount:
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            raise InvalidValueError("username", "lower-case letters, digits, '.', '_' or '-' (2-63)")
        return cls._create(
            cls.Created,  # type: ignore[attr-defined]
            id=user_id(username),
            username=username,
            org=org,
            role=Role.parse(role, "role"),
            password_hash=password_hash,
            email=email_address(email),
        )

    def check_active(self) -> None:
        if not self.active:
            raise AccountDeactivatedError(f"user {self.username!r} is deactivated")

    def change_password(self, password_hash: str, by: str, at: float) -> None:
        """A new password; every session opened before it ends."""
        self.check_active()
        self._change_password(password_hash, by, at)

    def end_sessions(self, by: str, at: float) -> None:
        """Sign the user out everywhere: every session opened before ``at`` ends."""
        self.check_active()
        self._end_sessions(by, at)

    def deactivate(self, by: str, at: float) -> None:
        """The account signs in no more, and its sessions end."""
        self.check_active()
        self._deactivate(by, at)

    def session_is_current(self, created_at: float) -> bool:
        return self.active and created_at >= self.sessions_since

    @event("PasswordChanged")
    def _change_password(self, password_hash: str, by: str, at: float) -> None:
        self.password_hash = password_hash
        self.sessions_since = at

    @event("SessionsEnded")
    def _end_sessions(self, by: str, at: float) -> None:
        self.sessions_since = at

    @event("Deactivated")
    def _deactivate(self, by: str, at: float) -> None:
        self.active = False
        self.sessions_since = at
        self.deactivated_by, self.deactivated_at = by, at


@dataclass(frozen=True)
class Caller:
    """Who is asking: a signed-in user, their organisation and role."""

    user_id: UUID
    username: str
    org: str
    role: Role

    @property
    def sees_personal_data(self) -> bool:
        return self.role in (Role.COORDINATOR, Role.MEMBER)
