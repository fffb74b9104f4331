"""Account commands: registering organisations and users, signing in."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.accounts import (
    HASHER,
    Caller,
    Organisation,
    UserAccount,
    hash_password,
    org_id,
    password_matches,
    user_id,
)
from application.base import ForebygBase
from application.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from application.sessions import SessionExpiredError, SessionStore
from domain.errors import InvalidValueError

# Verifying against a dummy hash when the user is unknown keeps the timing the same.
_DUMMY_HASH = HASHER.hash("not-a-real-password-0000")


class AccountCommands(ForebygBase):
    sessions: SessionStore

    def add_organisation(self, slug: object, *, name: object, kind: object, email: object = None) -> UUID:
        org = Organisation.register(slug, name, kind, email)
        try:
            self.save(org)
        except IntegrityError:
            raise AlreadyExistsError(f"organisation {org.slug!r} already exists") from None
        return org.id

    def add_user(
        self, username: object, *, org: object, role: object, password: str, email: object = None
    ) -> UUID:
        organisation = self.get_organisation(str(org)) if isinstance(org, str) else None
        if organisation is None:
            raise InvalidValueError("org", f"{org!r} is not a registered organisation")
        user = UserAccount.create(username, organisation["slug"], role, hash_password(password), email)
        try:
            self.save(user)
        except IntegrityError:
            raise AlreadyExistsError(f"user {user.username!r} already exists") from None
        return user.id

    def _account(self, account_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self.repository.get(account_id)
        except AggregateNotFoundError:
            return None
        return found

    def get_organisation(self, slug: str) -> dict[str, Any] | None:
        org = self._account(org_id(slug))
        if not isinstance(org, Organisation):
            return None
        return {"slug": org.slug, "name": org.name, "kind": org.kind.value, "email": org.email}

    def sign_in(self, username: object, password: object, address: str) -> tuple[str, float, Caller]:
        """Open a session for these credentials: answers the token, its absolute expiry (epoch
        seconds) and the caller. Refused while too many attempts failed, across all workers."""
        name = username if isinstance(username, str) else ""
        self.sessions.check_throttle(name, address)
        try:
            caller = self.authenticate(username, password)
        except AuthenticationError:
            self.sessions.record_failure(name, address)
            raise
        self.sessions.clear_failures(name)
        token, expires_at = self.sessions.open(caller.user_id)
        return token, expires_at, caller

    def caller_for_session(self, token: str) -> Caller:
        """The caller whose live session this is; caches forget any erased subject's key."""
        session = self.sessions.resolve(token)
        self.keystore.observe_generation(session.erasure_generation)
        try:
            return self.get_caller(session.user_id)
        except NotFoundError:
            raise SessionExpiredError("the account no longer exists or was deactivated") from None

    def sign_out(self, token: str) -> None:
        self.sessions.end(token)

    def get_caller_by_username(self, username: str) -> Caller | None:
        user = self._account(user_id(username))
        return self._caller(user) if isinstance(user, UserAccount) else None

    def authenticate(self, username: object, password: object) -> Caller:
        """The caller for these credentials; the same error whatever was wrong."""
        user = self._account(user_id(username)) if isinstance(username, str) else None
        if not isinstance(password, str):
            password = ""
        if not isinstance(user, UserAccount):
            password_matches(_DUMMY_HASH, password)
            raise AuthenticationError("unknown user or wrong password")
        if not password_matches(user.password_hash, password) or not user.active:
            raise AuthenticationError("unknown user or wrong password")
        return self._caller(user)

    def get_caller(self, account_id: UUID) -> Caller:
        """The caller a token names, re-read so a deactivated account stops at once."""
        user = self._account(account_id)
        if not isinstance(user, UserAccount) or not user.active:
            raise NotFoundError("no such active user")
        return self._caller(user)

    @staticmethod
    def _caller(user: UserAccount) -> Caller:
        return Caller(user_id=user.id, username=user.username, org=user.org, role=user.role)
