"""Account commands: registering organisations and users, signing in, and ending an account's
access (deactivation, a password reset, signing a user out everywhere) — an administrator's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application import access
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
from application.errors import AlreadyExistsError, AuthenticationError, NotFoundError, UserNotFoundError
from application.receipts import Idempotency, Recorded
from application.sessions import SessionExpiredError, SessionStore
from domain.errors import InvalidValueError
from domain.values import Role

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
        seconds) and the caller. Refused, unchecked, while the account's or the address's delay
        after repeated failures runs (across all workers)."""
        name = username if isinstance(username, str) else ""
        claim = self.sessions.claim_attempt(name, address)  # counted as a failure until it succeeds
        caller = self.authenticate(username, password)
        self.sessions.clear_failures(name, address, claim)
        token, expires_at = self.sessions.open(caller.user_id)
        return token, expires_at, caller

    def caller_for_session(self, token: str) -> Caller:
        """The caller whose live session this is; caches forget any erased subject's key."""
        session = self.sessions.resolve(token)
        self.keystore.observe_generation(session.erasure_generation)
        user = self._account(session.user_id)
        if not isinstance(user, UserAccount) or not user.active:
            raise SessionExpiredError("the account no longer exists or was deactivated")
        # Also when ending the sessions' rows did not happen (the account's event is what counts).
        if not user.session_is_current(session.created_at):
            raise SessionExpiredError("the session was ended by an administrator; sign in again")
        return self._caller(user)

    def sign_out(self, token: str) -> None:
        self.sessions.end(token)

    # --- an administrator ends an account's access -----------------------------------------

    def _user(self, username: object, expected_version: int | None, caller: Caller | None) -> UserAccount:
        access.check_role(caller, Role.ADMIN)
        user = self._account(user_id(username)) if isinstance(username, str) else None
        if not isinstance(user, UserAccount):
            raise UserNotFoundError(f"user {username!r} not found")
        self._check_version(user, expected_version)
        return user

    @staticmethod
    def _operator(caller: Caller | None, operator: str | None) -> str:
        return caller.username if caller is not None else operator or "system"

    def get_user(self, username: object, *, caller: Caller | None = None) -> dict[str, Any]:
        user = self._user(username, None, caller)
        return {
            "username": user.username,
            "org": user.org,
            "role": user.role.value,
            "email": user.email,
            "active": user.active,
            "deactivated_by": user.deactivated_by,
            "deactivated_at": (
                None
                if user.deactivated_at is None
                else datetime.fromtimestamp(user.deactivated_at, UTC).isoformat()
            ),
            "version": user.version,
        }

    def deactivate_user(
        self,
        username: object,
        *,
        expected_version: int | None = None,
        caller: Caller | None = None,
        operator: str | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """The account signs in no more; its sessions end at once, in every worker."""
        user = self._user(username, expected_version, caller)
        user.deactivate(by=self._operator(caller, operator), at=self.sessions.clock())
        return self._save_ending_sessions(user, idempotency)

    def reset_password(
        self,
        username: object,
        password: object,
        *,
        expected_version: int | None = None,
        caller: Caller | None = None,
        operator: str | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """A new password chosen by an administrator; the user's sessions end."""
        if not isinstance(password, str):
            raise InvalidValueError("password", "a password is required")
        user = self._user(username, expected_version, caller)
        user.change_password(
            hash_password(password), by=self._operator(caller, operator), at=self.sessions.clock()
        )
        return self._save_ending_sessions(user, idempotency)

    def sign_out_user(
        self,
        username: object,
        *,
        expected_version: int | None = None,
        caller: Caller | None = None,
        operator: str | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """End every session of the user (a lost laptop, a shared screen)."""
        user = self._user(username, expected_version, caller)
        user.end_sessions(by=self._operator(caller, operator), at=self.sessions.clock())
        return self._save_ending_sessions(user, idempotency)

    def _save_ending_sessions(self, user: UserAccount, idempotency: Idempotency | None) -> Recorded:
        """Record the account's change, then end every session it has, in every worker."""
        recorded = self._save(user, idempotency=idempotency)
        self.sessions.end_all(user.id)
        return recorded

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
