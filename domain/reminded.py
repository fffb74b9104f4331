"""What a Case and a Forum share about reminders: each reminder key is delivered once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from domain.errors import ReminderAlreadySentError


class Reminded:
    """Mixed into an aggregate that keeps the keys of the reminders delivered about it. The
    aggregate declares its own ``ReminderSent`` event as ``_reminder_sent`` (so the stored topic
    names the aggregate) and keeps ``reminders_sent``."""

    reminders_sent: list[str]
    _reminder_sent: Callable[..., None]  # the aggregate's own @event("ReminderSent") method

    def record_reminder(
        self,
        key: str,
        rule: str,
        channel: str,
        recipient_org: str,
        sent_on: date,
        due_on: date,
        action_id: UUID | None = None,
    ) -> None:
        """A reminder was delivered; each reminder key is delivered once."""
        if not key or key in self.reminders_sent:
            raise ReminderAlreadySentError(f"reminder {key!r} was already sent")
        self._reminder_sent(
            key=key,
            rule=rule,
            channel=channel,
            recipient_org=recipient_org,
            sent_on=sent_on,
            due_on=due_on,
            action_id=action_id,
        )
