"""Support for the fault tests with real parts: the shared PostgreSQL server, an SMTP server on
loopback (aiosmtpd), and `forebyg` worker processes started as subprocesses, killed with SIGKILL.

Helpers here start and kill processes (each in its own process group; the `procs` fixture kills
them all at teardown),
find the PostgreSQL backends a given process holds (by its TCP client ports, read from /proc, so a
test terminates its own worker's connections and nobody else's), collect e-mails, build a demo
world whose reminders are due today, and compare read models with a rebuild from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from uuid import UUID

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from psycopg import sql

from application.app import Forebyg
from application.base import today_in_denmark
from application.bootstrap import build_application
from application.demo import ORGS, build_demo
from application.readmodels.board import CaseBoard
from application.readmodels.directory import Directory
from application.readmodels.projector import Projector
from application.readmodels.store import PostgresStore
from application.reminders.model import Inbox, RemindersDue
from application.reminders.rules import case_reminders, forum_reminders
from application.settings import Settings
from domain.case import Case
from domain.forum import Forum
from domain.values import Subject
from tests.conftest import POSTGRES_URL

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from interfaces.cli import main; sys.exit(main())"
READ_MODEL_TABLES = (
    "board_forums",
    "board_cases",
    "board_actions",
    "reminders_due",
    "inbox",
    "directory_orgs",
    "directory_users",
)
PG_PORT = urlparse(POSTGRES_URL).port or 5432


# --- waiting ------------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    explain: Callable[[], str] | None = None,
) -> float:
    """Poll until ``condition`` holds; answers the seconds it took, fails the test after ``timeout``."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            detail = f"\n{explain()}" if explain else ""
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def wait_for_delivery(
    world: World, pg: psycopg.Connection[tuple[Any, ...]], keys: set[str], *procs: Proc, timeout: float = 30
) -> float:
    """Wait until every reminder in ``keys`` is in the inbox; answers how long that took."""
    return wait_until(
        lambda: keys <= set(world.inbox_keys(pg)),
        timeout,
        f"{len(keys)} reminder(s) in the inbox",
        interval=0.1,
        explain=lambda: "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in procs),
    )


# --- processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None


class Processes:
    """Worker subprocesses, each the leader of its own process group; all are SIGKILLed at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Proc] = []

    def start(self, name: str, args: list[str], env: dict[str, str], code: str = CLI) -> Proc:
        log = self.log_dir / f"{len(self.started):02d}-{name}.log"
        with log.open("wb") as handle:
            popen = subprocess.Popen(
                [sys.executable, "-c", code, *args],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def run(self, name: str, args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
        """Run a one-off command to its end; answers its exit code and output."""
        proc = self.start(name, args, env)
        try:
            code = proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            pytest.fail(f"{name} did not finish within {timeout:.0f}s:\n{proc.output()}")
        return code, proc.output()

    @staticmethod
    def kill(proc: Proc) -> None:
        """SIGKILL the process and its whole group, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)

    def kill_all(self) -> None:
        for proc in self.started:
            self.kill(proc)


def cli_env(settings: Settings, *, smtp_url: str = "", interval: int = 1) -> dict[str, str]:
    """The environment of a `forebyg` worker on the test's schema (default reminder horizons)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOREBYG_")}
    env.update(
        FOREBYG_DATABASE_URL=settings.database_url,
        FOREBYG_SECRET_KEY="fault-tests-secret-key-0123456789abcdef",
        FOREBYG_SMTP_URL=smtp_url,
        FOREBYG_SCHEDULER_INTERVAL_SECONDS=str(interval),
        PYTHONUNBUFFERED="1",
    )
    return env


# --- PostgreSQL -----------------------------------------------------------------------------


def schema_of(settings: Settings) -> str:
    return settings.persistence_env()["POSTGRES_SCHEMA"]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        entries = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, PermissionError):
        return set()
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def client_ports(pid: int) -> set[int]:
    """The local TCP ports of the process's connections to the PostgreSQL server."""
    inodes = _socket_inodes(pid)
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except (FileNotFoundError, PermissionError):
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == PG_PORT:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def backends_of(pg: psycopg.Connection[tuple[Any, ...]], pid: int) -> list[int]:
    """The PostgreSQL backend pids serving the OS process ``pid`` (never the caller's own)."""
    ports = client_ports(pid)
    if not ports:
        return []
    rows = pg.execute(
        "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s) AND datname = current_database()"
        " AND pid <> pg_backend_pid()",
        (sorted(ports),),
    ).fetchall()
    return [int(row[0]) for row in rows]


def terminate_backends_of(pg: psycopg.Connection[tuple[Any, ...]], pid: int) -> int:
    """Terminate every connection the process holds, as a server crash or network cut would."""
    backends = backends_of(pg, pid)
    if not backends:
        return 0
    rows = pg.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = ANY(%s)",
        (backends,),
    ).fetchone()
    return int(rows[0]) if rows else 0


def terminate_lock_connection_of(pg: psycopg.Connection[tuple[Any, ...]], pid: int) -> int:
    """Terminate only the connection on which the process holds an advisory lock (the
    scheduler's leader lock); answers how many were terminated."""
    backends = backends_of(pg, pid)
    row = pg.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_locks"
        " WHERE locktype = 'advisory' AND granted AND pid = ANY(%s)",
        (backends,),
    ).fetchone()
    return int(row[0]) if row else 0


def outage(pg: psycopg.Connection[tuple[Any, ...]], pid: int, seconds: float) -> int:
    """For ``seconds``, terminate every connection the process holds or makes: for it, the
    database is down. Answers how many connections were cut."""
    cut = 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        cut += terminate_backends_of(pg, pid)
        time.sleep(0.05)
    return cut


def in_read_model_transaction(pg: psycopg.Connection[tuple[Any, ...]], pid: int) -> bool:
    """Whether the process is inside a transaction that has written read-model rows (or moved the
    tracking position) and not committed yet."""
    backends = backends_of(pg, pid)
    if not backends:
        return False
    row = pg.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND xact_start IS NOT NULL"
        " AND state IN ('active', 'idle in transaction')"
        r" AND query ~* '(readmodel_tracking|board_|reminders_due|inbox|directory_)'"
        r" AND query !~* '^\s*select'",
        (backends,),
    ).fetchone()
    return bool(row and row[0])


def tracking_position(pg: psycopg.Connection[tuple[Any, ...]], schema: str) -> int:
    row = pg.execute(
        sql.SQL("SELECT position FROM {}.readmodel_tracking WHERE name = 'workflow'").format(
            sql.Identifier(schema)
        )
    ).fetchone()
    return int(row[0]) if row else 0


def table_rows(pg: psycopg.Connection[tuple[Any, ...]], schema: str) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every read-model table's rows, as multisets."""
    return {
        table: Counter(
            tuple(row)
            for row in pg.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchall()
        )
        for table in READ_MODEL_TABLES
    }


def rebuild_into(app: Forebyg, settings: Settings, schema: str) -> int:
    """Project the whole log of ``app`` from scratch into the read-model tables of another schema,
    in one fresh projector with the default batch size; answers the position reached."""
    env = settings.persistence_env()
    conninfo = {key: value for key, value in env.items() if key.startswith("POSTGRES_")}
    store = PostgresStore(conninfo, schema)
    try:
        projector = Projector(app, store, [CaseBoard(), RemindersDue(app.policy), Inbox(), Directory()])
        projector.create_tables()
        projector.catch_up()
        return projector.position()
    finally:
        store.close()


def read_model_differences(
    actual: dict[str, Counter[tuple[Any, ...]]], rebuilt: dict[str, Counter[tuple[Any, ...]]]
) -> list[str]:
    """Rows missing from, extra in (duplicated or stale), the read model, table by table."""
    problems = []
    for table in READ_MODEL_TABLES:
        missing = rebuilt[table] - actual[table]
        extra = actual[table] - rebuilt[table]
        duplicated = [row for row, n in actual[table].items() if n > 1]
        if missing or extra or duplicated:
            problems.append(
                f"{table}: {sum(missing.values())} missing, {sum(extra.values())} extra, "
                f"{len(duplicated)} duplicated; e.g. missing {list(missing)[:2]}, extra {list(extra)[:2]}"
            )
    return problems


# --- e-mail -------------------------------------------------------------------------------

KEY_LINE = re.compile(r"^Reminder key: (\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Mail:
    recipients: tuple[str, ...]
    to_header: str
    subject: str
    body: str
    raw: str
    accepted: bool  # False: the server received the DATA but never answered 250

    @property
    def key(self) -> str | None:
        found = KEY_LINE.search(self.body)
        return found.group(1) if found else None


def parse_mail(content: bytes, recipients: list[str], accepted: bool) -> Mail:
    message = BytesParser(policy=email.policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    body = message.get_content()
    return Mail(
        recipients=tuple(recipients),
        to_header=str(message["To"]),
        subject=str(message["Subject"]),
        body=str(body),
        raw=content.decode("utf-8", errors="replace"),
        accepted=accepted,
    )


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it receives. ``hold(n)`` makes the
    n-th message hang in DATA, unanswered, until ``release()``; the sender blocks mid-send. It is
    then answered ``answer``: by default a temporary failure, so that only a message answered
    250 counts as accepted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mails: list[Mail] = []
        self._received = 0
        self._hold_at: int | None = None
        self._hold_answer = ""
        self.holding = threading.Event()
        self._release = threading.Event()
        self.held: Mail | None = None
        self.port = 0
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._release.set()
        if self._controller is not None:
            self._controller.stop()

    def hold(self, nth: int, answer: str = "451 4.3.0 Held and dropped by the test") -> None:
        self._hold_at, self._hold_answer = nth, answer

    def release(self) -> None:
        self._release.set()

    async def receive(self, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        with self._lock:
            self._received += 1
            hold = self._received == self._hold_at
        if not hold:
            with self._lock:
                self.mails.append(parse_mail(content, list(envelope.rcpt_tos), accepted=True))
            return "250 OK"
        mail = parse_mail(content, list(envelope.rcpt_tos), accepted=False)
        with self._lock:
            self.mails.append(mail)
            self.held = mail
        self.holding.set()
        while not self._release.is_set():
            await asyncio.sleep(0.05)
        if self._hold_answer.startswith("250"):
            with self._lock:
                self.mails[self.mails.index(mail)] = replace(mail, accepted=True)
        return self._hold_answer

    def snapshot(self) -> list[Mail]:
        with self._lock:
            return list(self.mails)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return await self.sink.receive(envelope)


# --- a world with reminders due today -------------------------------------------------------

EXTRA_SUBJECTS = (
    ("Rikke Nedbrudsen", "120309-4821"),
    ("Torben Afbrydelsen", "030708-1357"),
    ("Sofie Genstartsen", "250610-2468"),
    ("Kasper Udfaldsen", "171107-9753"),
    ("Ida Timeoutsen", "080809-3141"),
    ("Malte Dropsen", "290210-2718"),
)


@dataclass
class World:
    """A demo municipality as of today (the real date in Copenhagen, as the CLI's), in the test's
    schema; the application here never catches read models up unless a test asks it to."""

    settings: Settings
    app: Forebyg
    today: date
    forum_ids: list[UUID]
    case_ids: list[UUID] = field(default_factory=list)
    subjects: list[Subject] = field(default_factory=list)

    @property
    def schema(self) -> str:
        return schema_of(self.settings)

    def _subject(self) -> Subject:
        name, cpr = EXTRA_SUBJECTS[len(self.subjects) % len(EXTRA_SUBJECTS)]
        subject = Subject(name, cpr, 2009)
        self.subjects.append(subject)
        return subject

    def refer_unassessed(self, days_ago: int = 30) -> UUID:
        """A referral received ``days_ago`` days ago and never assessed: its
        referral_not_assessed reminder fell due (days_ago - 14) days ago."""
        recorded = self.app.refer_case(
            forum_id=self.forum_ids[0],
            target_group="cross_over",
            referred_by="oestjyllands-politi",
            received_on=self.today - timedelta(days=days_ago),
            legal_basis="retsplejeloven_115",
            concern="Fault-test referral",
            subject=self._subject(),
        )
        self.case_ids.append(recorded.id)
        return recorded.id

    def agree_overdue_action(self) -> UUID:
        """An accepted case whose action (owned by the mentor corps) was due yesterday: its
        action_due_soon, action_overdue and accepted_not_discussed reminders are due today."""
        case_id = self.refer_unassessed(days_ago=28)
        self.app.assess_case(
            case_id,
            assessed_on=self.today - timedelta(days=26),
            decision="accept",
            risk_and_threat="Fault test",
            wellbeing_and_resilience="Fault test",
            judgement="Accepted",
        )
        self.app.agree_action(
            case_id,
            kind="mentor",
            description="Mentor, weekly",
            responsible_org="foreningen-broen",
            due_on=self.today - timedelta(days=1),
            agreed_on=self.today - timedelta(days=20),
        )
        return case_id

    def due_reminders(self) -> dict[str, str]:
        """Every reminder due by today (sent or not), by key, with its recipient organisation —
        computed from the aggregates by the rules, independently of any read model."""
        policy = self.app.policy
        forums: dict[UUID, Forum] = {}
        due: dict[str, str] = {}
        for forum_id in self.forum_ids:
            forum: object = self.app.repository.get(forum_id)
            assert isinstance(forum, Forum)
            forums[forum_id] = forum
            for reminder in forum_reminders(forum, policy):
                if reminder.fire_on <= self.today:
                    due[reminder.key] = reminder.recipient_org
        for case_id in self.case_ids:
            case: object = self.app.repository.get(case_id)
            assert isinstance(case, Case)
            for reminder in case_reminders(case, forums[case.forum_id].chair_org, policy):
                if reminder.fire_on <= self.today:
                    due[reminder.key] = reminder.recipient_org
        return due

    def reminders_recorded(self) -> Counter[str]:
        """ReminderSent events in the histories of every case and forum, by key."""
        sent: Counter[str] = Counter()
        for source_id in [*self.forum_ids, *self.case_ids]:
            for event in self.app.events.get(source_id):
                if type(event).__name__ == "ReminderSent":
                    sent[event.key] += 1  # type: ignore[attr-defined]
        return sent

    def inbox_keys(self, pg: psycopg.Connection[tuple[Any, ...]]) -> Counter[str]:
        rows = pg.execute(sql.SQL("SELECT key FROM {}.inbox").format(sql.Identifier(self.schema))).fetchall()
        return Counter(str(row[0]) for row in rows)

    def unsent_due_rows(self, pg: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
        rows = pg.execute(
            sql.SQL("SELECT key FROM {}.reminders_due WHERE sent = 0 AND fire_on <= %s").format(
                sql.Identifier(self.schema)
            ),
            (self.today.isoformat(),),
        ).fetchall()
        return [str(row[0]) for row in rows]


def demo_world(settings: Settings, cases: int) -> World:
    today = today_in_denmark()
    app = build_application(settings, clock=lambda: today)
    summary = build_demo(app, today=today, cases=cases)
    world = World(settings, app, today, list(summary.forums), list(summary.cases))
    for case_id in summary.cases:
        case: object = app.repository.get(case_id)
        assert isinstance(case, Case)
        world.subjects.append(case.subject)
    return world


def expected_addresses(org: str) -> tuple[str, ...]:
    """The demo registers each organisation with <slug>@forebyg.example and its users without one."""
    assert org in {o.slug for o in ORGS}, org
    return (f"{org}@forebyg.example",)


def mail_problems(mails: list[Mail], due: dict[str, str], subjects: list[Subject]) -> list[str]:
    """What is wrong with the e-mails received, given the reminders due (key -> organisation):
    each key e-mailed (and accepted) exactly once, to its organisation; no person named."""
    problems = []
    accepted = Counter(m.key for m in mails if m.accepted)
    for key in sorted(due):
        if accepted[key] != 1:
            problems.append(f"{key}: e-mailed {accepted[key]} times (accepted by the server)")
    for mail in mails:
        if mail.key is None or mail.key not in due:
            problems.append(f"an e-mail for a reminder that is not due: {mail.key} {mail.subject!r}")
            continue
        if mail.recipients != expected_addresses(due[mail.key]):
            problems.append(f"{mail.key}: sent to {mail.recipients}, not {expected_addresses(due[mail.key])}")
        for subject in subjects:
            surname = subject.name.split()[-1]
            for secret in (subject.name, surname, subject.cpr):
                if secret and (secret in mail.raw or secret in mail.body or secret in mail.subject):
                    problems.append(f"{mail.key}: the e-mail contains the subject's {secret!r}")
    return problems


def assert_delivered_exactly_once(
    world: World, pg: psycopg.Connection[tuple[Any, ...]], sink: SmtpSink, due: dict[str, str]
) -> None:
    """Each due reminder e-mailed (accepted) once, recorded once as ReminderSent, once in the inbox,
    and marked sent; nothing else e-mailed; no person named."""
    assert mail_problems(sink.snapshot(), due, world.subjects) == []
    recorded = world.reminders_recorded()
    assert {key: n for key, n in recorded.items() if n != 1 or key not in due} == {}
    assert set(recorded) == set(due), f"never recorded: {sorted(set(due) - set(recorded))}"
    inbox = world.inbox_keys(pg)
    assert set(inbox) == set(due) and max(inbox.values()) == 1
    assert world.unsent_due_rows(pg) == []
