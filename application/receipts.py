"""Command receipts: what makes a retried command return its first answer and record nothing twice.

A command sent with an idempotency key saves a ``CommandReceipt`` — whose id is derived from the
caller and the key — in the same transaction as the command's own events. A retry finds the
receipt and gets the first answer back; two racing copies cannot both commit, because the
receipt's first version can be stored only once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

RECEIPTS = UUID("0b7c2a9e-5d0c-4f51-8a44-3e2b6a0f7c11")


@dataclass(frozen=True)
class Recorded:
    """A command's answer: the aggregate it changed or created, its new version, and the ids
    of anything created inside it."""

    id: UUID
    version: int
    meeting_id: UUID | None = None
    action_id: UUID | None = None
    subject_id: UUID | None = None
    replayed: bool = False  # the first answer, given again to a retry


@dataclass(frozen=True)
class Idempotency:
    """One caller's idempotency key, and a fingerprint of the request it was first used with."""

    scope: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, scope: str, key: str, request: bytes) -> Idempotency:
        return cls(scope=scope, key=key, fingerprint=hashlib.sha256(request).hexdigest())

    @property
    def receipt_id(self) -> UUID:
        return uuid5(RECEIPTS, f"{self.scope}\n{self.key}")

    def derived_id(self, what: str) -> UUID:
        """A stable id for something the command creates, so a retry names the same thing."""
        return uuid5(self.receipt_id, what)


class CommandReceipt(Aggregate):
    """The first answer given to a command sent with an idempotency key."""

    @event("Issued")
    def __init__(
        self,
        fingerprint: str,
        resource_id: UUID,
        resource_version: int,
        meeting_id: UUID | None,
        action_id: UUID | None,
        subject_id: UUID | None,
    ) -> None:
        self.fingerprint = fingerprint
        self.resource_id = resource_id
        self.resource_version = resource_version
        self.meeting_id = meeting_id
        self.action_id = action_id
        self.subject_id = subject_id

    @property
    def answer(self) -> Recorded:
        return Recorded(
            id=self.resource_id,
            version=self.resource_version,
            meeting_id=self.meeting_id,
            action_id=self.action_id,
            subject_id=self.subject_id,
            replayed=True,
        )
