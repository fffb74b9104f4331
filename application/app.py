"""The Forebyg application: the model's commands and queries over one event store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from application import operations
from application.base import ForebygBase, today_in_denmark
from application.cases import CaseCommands
from application.errors import StoreNotReadyError
from application.forums import ForumCommands
from application.privacy.accesslog import AccessLog
from application.privacy.keystore import KeyStore
from application.privacy.ledger import ErasureLedger, LedgerError
from application.privacy.retention import RetentionPolicy
from application.privacy.service import PrivacyCommands
from application.queries import Queries
from application.readmodels.board import CaseBoard
from application.readmodels.directory import Directory
from application.readmodels.projector import Projector, event_topics
from application.reminders import dispatch
from application.reminders.model import Inbox, RemindersDue
from application.reminders.rules import ReminderPolicy
from application.sessions import SessionPolicy, SessionStore
from application.users import AccountCommands
from domain.case import Case
from domain.forum import Forum

__all__ = ["Forebyg", "today_in_denmark"]


class Forebyg(ForumCommands, CaseCommands, AccountCommands, PrivacyCommands, Queries, ForebygBase):
    """Collaboration forums and their cases, event-sourced.

    Every command is get → check access → call → save; the rules live in the aggregates.
    Holding a meeting saves the forum's ``MeetingHeld`` and every discussed case's
    ``Discussed`` in one transaction. Business dates of things that happened cannot lie in
    the future. A command sent with an idempotency key is recorded once, whatever retries.
    Commands and queries take an optional ``caller``: a person's need-to-know and role are
    then enforced; without one, the caller is the system itself (CLI, demo, scheduler).
    """

    name = "Forebyg"
    snapshotting_intervals = {Forum: 50, Case: 50}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Callable[[], date] = today_in_denmark,
        policy: ReminderPolicy | None = None,
        retention_policy: RetentionPolicy | None = None,
        session_policy: SessionPolicy | None = None,
        erasure_ledger: Path | None = None,
    ) -> None:
        super().__init__(env, clock)
        self.erasure_ledger = ErasureLedger(erasure_ledger) if erasure_ledger is not None else None
        self.policy = policy or ReminderPolicy()
        self.retention_policy = retention_policy or RetentionPolicy()
        self.access_log = AccessLog(self.read_store)
        self.sessions = SessionStore(
            self.read_store,
            session_policy or SessionPolicy(),
            erasure_generation=self.keystore.generation if self.keys_apart else None,
        )
        self.workflow = Projector(
            self,
            self.read_store,
            [CaseBoard(), RemindersDue(self.policy), Inbox(), Directory()],
            # A long rebuild folds the cases in parts, one process each (see Projector).
            partitioned_topics=event_topics(Case),
            # (its processes create no table: `forebyg migrate` has made them)
            app_factory=partial(type(self), env={**self.env, "CREATE_TABLE": "n"}, policy=self.policy),
        )
        if self.env.get("PERSISTENCE_MODULE", "eventsourcing.popo") == "eventsourcing.popo":
            self.create_read_models()

    def create_read_models(self) -> None:
        self.workflow.create_tables()
        with self.key_store_db.transaction() as cursor:
            KeyStore.create_tables(cursor)
        with self.read_store.transaction() as cursor:
            self.access_log.create_tables(cursor)
            SessionStore.create_tables(cursor)
            dispatch.create_tables(cursor)
            operations.create_tables(cursor)

    def check_ready(self) -> None:
        """The store answers, and holds every erasure of the erasure ledger."""
        super().check_ready()
        try:
            pending = self.pending_erasures()
        except LedgerError as error:
            raise StoreNotReadyError(str(error)) from error
        if pending:
            raise StoreNotReadyError(
                f"{len(pending)} erasure(s) of the erasure ledger are not applied to this store"
                " (a backup older than them was restored): run `forebyg reapply-erasures`"
            )

    def close(self) -> None:
        if self.keys_apart:
            self.key_store_db.close()
        self.read_store.close()
        super().close()
