"""Server-side sessions (bearer tokens now, the web UI's cookie later) and login throttling.

A session dies 30 minutes after its last use, 12 hours after sign-in, and at once on sign-out.
Only a hash of the token is stored.

Throttling slows guessing without locking anyone out: failed sign-ins are counted per account
and per address in the shared database (so the counts hold across every worker). After a few
free failures, each further attempt must wait a delay that doubles with every failure, up to a
cap; an attempt inside the delay is refused with the time left, before its password is checked.
Once the delay is over the right password signs in and clears the account's count. An attempt
is counted as a failure when it is let through — the check and the count are one locked step —
and un-counted when it succeeds, so a burst of concurrent guesses gets no more through than the
free failures allow.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from application.errors import ApplicationError
from application.readmodels.store import Cursor, SqlStore


class SessionExpiredError(ApplicationError):
    """The session is unknown, ended, or timed out: sign in again."""


class TooManyAttemptsError(ApplicationError):
    """Too many failed sign-ins: wait before trying again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int = 30 * 60
    absolute_seconds: int = 12 * 60 * 60
    free_failures_per_user: int = 5  # FOREBYG_LOGIN_MAX_FAILURES
    free_failures_per_address: int = 50  # a NAT's users mistype too
    first_delay_seconds: float = 1.0
    max_delay_per_user_seconds: float = 5 * 60
    max_delay_per_address_seconds: float = 15
    forget_failures_after_seconds: int = 15 * 60  # of quiet

    def delay(self, failures: int, free: int, cap: float) -> float:
        """How long the next attempt must wait after this many failures."""
        if failures < free:
            return 0.0
        return float(min(self.first_delay_seconds * 2 ** min(failures - free, 32), cap))

    touch_every_seconds: int = 30


@dataclass(frozen=True)
class Claim:
    """A sign-in attempt let through: what its count did to the address's delay."""

    address_next_attempt_at: float
    address_before: float


@dataclass(frozen=True)
class Session:
    user_id: UUID
    created_at: float
    expires_at: float  # the absolute end
    erasure_generation: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        store: SqlStore,
        policy: SessionPolicy,
        clock: Callable[[], float] = time.time,
        erasure_generation: Callable[[], int] | None = None,
    ) -> None:
        self.store, self.policy, self.clock = store, policy, clock
        # With the keys in a database of their own, the erasure generation is read there;
        # otherwise in the same query as the session.
        self.erasure_generation = erasure_generation

    @staticmethod
    def create_tables(cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
            " created_at DOUBLE PRECISION NOT NULL, last_seen_at DOUBLE PRECISION NOT NULL,"
            " ended_at DOUBLE PRECISION)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)")
        # Replaced by login_throttle (one row per account and per address).
        cursor.execute("DROP TABLE IF EXISTS login_failures")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS login_throttle (subject TEXT PRIMARY KEY,"
            " failures INTEGER NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL,"
            " last_failure_at DOUBLE PRECISION NOT NULL)"
        )

    def open(self, user_id: UUID) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                (_digest(token), str(user_id), now, now),
            )
            # Housekeeping: sessions past their absolute end are gone for good.
            cursor.execute(
                "DELETE FROM sessions WHERE created_at < ?", (now - 2 * self.policy.absolute_seconds,)
            )
        return token, now + self.policy.absolute_seconds

    def resolve(self, token: str) -> Session:
        now = self.clock()
        with self.store.transaction() as cursor:
            generation = (
                "0" if self.erasure_generation else "(SELECT n FROM keystore_generation WHERE id = 1)"
            )
            cursor.execute(
                f"SELECT user_id, created_at, last_seen_at, ended_at, {generation}"
                " FROM sessions WHERE token_hash = ?",
                (_digest(token),),
            )
            row = cursor.fetchone()
            if row is None or row[3] is not None:
                raise SessionExpiredError("the session has ended; sign in again")
            user_id, created_at, last_seen_at = row[0], float(row[1]), float(row[2])
            if now - last_seen_at > self.policy.idle_seconds:
                raise SessionExpiredError("the session timed out after inactivity; sign in again")
            if now - created_at > self.policy.absolute_seconds:
                raise SessionExpiredError("the session reached its maximum length; sign in again")
            if now - last_seen_at > min(self.policy.touch_every_seconds, self.policy.idle_seconds / 4):
                cursor.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (now, _digest(token))
                )
        seen = self.erasure_generation() if self.erasure_generation else int(row[4] or 0)
        return Session(UUID(user_id), created_at, created_at + self.policy.absolute_seconds, seen)

    def end(self, token: str) -> None:
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                (self.clock(), _digest(token)),
            )

    def end_all(self, user_id: UUID) -> None:
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
                (self.clock(), str(user_id)),
            )

    def end_every_session(self) -> int:
        """End every open session (after a restore): how many."""
        with self.store.transaction() as cursor:
            cursor.execute("UPDATE sessions SET ended_at = ? WHERE ended_at IS NULL", (self.clock(),))
            return int(cursor.rowcount)

    # --- throttling ------------------------------------------------------------------

    def _subjects(self, username: str, address: str) -> list[tuple[str, int, float]]:
        # Always the account first, then the address: concurrent attempts lock in one order.
        policy = self.policy
        return [
            (f"user:{username}", policy.free_failures_per_user, policy.max_delay_per_user_seconds),
            (f"addr:{address}", policy.free_failures_per_address, policy.max_delay_per_address_seconds),
        ]

    def claim_attempt(self, username: str, address: str) -> Claim:
        """Let one sign-in attempt through, counted as a failure until it succeeds; or refuse
        it (nothing counted) while the account's or the address's delay runs. Atomic: the rows
        are locked (PostgreSQL) or the database is (SQLite's immediate transaction) from the
        check to the count, so concurrent attempts queue rather than all pass the check."""
        now = self.clock()
        forget = now - self.policy.forget_failures_after_seconds
        with self.store.transaction() as cursor:
            counts = []
            for subject, free, cap in self._subjects(username, address):
                cursor.execute(
                    "INSERT INTO login_throttle (subject, failures, next_attempt_at, last_failure_at)"
                    " VALUES (?, 0, 0, ?) ON CONFLICT (subject) DO UPDATE SET subject = excluded.subject"
                    " RETURNING failures, next_attempt_at, last_failure_at",
                    (subject, now),
                )
                failures, next_at, last_at = cursor.fetchone()
                if float(last_at) < forget:
                    failures = 0
                if float(next_at) > now:
                    raise TooManyAttemptsError(max(1, math.ceil(float(next_at) - now)))
                claimed = now + self.policy.delay(int(failures) + 1, free, cap)
                counts.append((subject, int(failures) + 1, claimed, float(next_at)))
            for subject, failures, claimed, _ in counts:
                cursor.execute(
                    "UPDATE login_throttle SET failures = ?, next_attempt_at = ?, last_failure_at = ?"
                    " WHERE subject = ?",
                    (failures, claimed, now, subject),
                )
        _, _, claimed, before = counts[1]
        return Claim(address_next_attempt_at=claimed, address_before=before)

    def clear_failures(self, username: str, address: str, claim: Claim) -> None:
        """The claimed attempt succeeded: the account starts afresh; the address is as it was
        before the attempt (its count and, unless a later failure moved it, its delay)."""
        now = self.clock()
        user, addr = (subject for subject, _, _ in self._subjects(username, address))
        with self.store.transaction() as cursor:
            cursor.execute("DELETE FROM login_throttle WHERE subject = ?", (user,))
            cursor.execute(
                "UPDATE login_throttle SET failures = failures - 1, next_attempt_at ="
                " CASE WHEN next_attempt_at = ? THEN ? ELSE next_attempt_at END"
                " WHERE subject = ? AND failures > 0",
                (claim.address_next_attempt_at, claim.address_before, addr),
            )
            cursor.execute(
                "DELETE FROM login_throttle WHERE last_failure_at < ? AND next_attempt_at < ?",
                (now - self.policy.forget_failures_after_seconds, now),
            )
