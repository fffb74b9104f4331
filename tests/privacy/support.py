"""What the privacy and security tests share: raw access to the store's tables (SQLite file or the
test's PostgreSQL schema), the personal values of a case as the application itself presents them,
leak searches over raw bytes, HTTP helpers over the Flask client, and a real `forebyg serve`
(gunicorn) whose two worker processes a test can address one by one.

A "leak" is any personal value of a subject found, in any of its usual encodings, in bytes that
someone without the subject's key can read: a table row, a database file, an HTTP answer, a log.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from application.app import Forebyg
from application.bootstrap import build_application
from application.demo import DEMO_PASSWORD
from application.settings import Settings
from domain.case import PERSONAL_FIELDS
from domain.values import ERASED
from interfaces.web import create_app
from tests.conftest import POSTGRES_URL, TODAY

REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "privacy-tests-secret-key-0123456789abcdef"
PURPOSE = "forberedelse af møde i samarbejdsforum"
CASE_PERSONAL_KEYS = ("subject", "concern", "assessment", "closure_summary")
ACTION_PERSONAL_KEYS = ("description", "outcome", "cancel_reason")

# The demo's logins (application/demo.py USERS): username → organisation.
COORDINATOR = "koordinator"  # aarhus-kommune, chairs both demo forums
MEMBER = "politi"  # oestjyllands-politi, a member of both demo forums
MENTOR = "mentor"  # foreningen-broen, a member of both demo forums
EVALUATOR = "evaluator"
DPO = "dpo"
ADMIN = "admin"


# --- the store, raw ----------------------------------------------------------------------


def as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@dataclass
class Store:
    """One migrated store (a SQLite file, or a PostgreSQL schema of the test's own) and the
    applications a test builds on it (closed at teardown)."""

    kind: str  # "sqlite" or "postgres"
    settings: Settings
    apps: list[Forebyg] = field(default_factory=list)

    @property
    def event_table(self) -> str:
        return "stored_events" if self.kind == "sqlite" else "forebyg_events"

    @property
    def snapshot_table(self) -> str:
        return "stored_snapshots" if self.kind == "sqlite" else "forebyg_snapshots"

    @property
    def schema(self) -> str:
        return self.settings.persistence_env()["POSTGRES_SCHEMA"]

    def app(self, clock: Callable[[], date] = lambda: TODAY, **changes: Any) -> Forebyg:
        """A new application on this store: a process of its own, with its own caches."""
        application = build_application(replace(self.settings, **changes), clock=clock)
        self.apps.append(application)
        return application

    def close(self) -> None:
        for application in self.apps:
            application.close()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A raw connection of the test's own, outside the application (autocommit)."""
        if self.kind == "sqlite":
            import sqlite3

            lite = sqlite3.connect(self.settings.sqlite_path, isolation_level=None, timeout=30)
            try:
                yield lite
            finally:
                lite.close()
        else:
            with psycopg.connect(
                POSTGRES_URL, autocommit=True, options=f"-c search_path={self.schema}"
            ) as pg:
                yield pg

    def tables(self) -> list[str]:
        with self.connection() as conn:
            if self.kind == "sqlite":
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            else:
                rows = conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                ).fetchall()
        return sorted(str(row[0]) for row in rows)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            return [tuple(row) for row in conn.execute(f'SELECT * FROM "{table}"').fetchall()]

    def column(self, table: str, column: str) -> list[Any]:
        with self.connection() as conn:
            return [row[0] for row in conn.execute(f'SELECT "{column}" FROM "{table}"').fetchall()]

    def raw(self, table: str) -> bytes:
        """Every value of every row of the table, as the bytes the database holds."""
        return b"\x00".join(as_bytes(value) for row in self.rows(table) for value in row)

    def dump(self) -> dict[str, bytes]:
        """Every table of the store, raw."""
        return {table: self.raw(table) for table in self.tables()}

    def files(self) -> dict[str, bytes]:
        """The SQLite database files themselves (main file, write-ahead log), byte for byte."""
        assert self.kind == "sqlite"
        found = {}
        for path in self.settings.data_dir.iterdir():
            if path.name.startswith(self.settings.sqlite_path.name):
                found[path.name] = path.read_bytes()
        return found

    def execute(self, statement: str) -> None:
        """Run one raw statement as the database's owner would; errors propagate."""
        with self.connection() as conn:
            conn.execute(statement)

    def position(self) -> int:
        """How many events the store holds (any refused command adds none)."""
        with self.connection() as conn:
            row = conn.execute(f'SELECT COUNT(*) FROM "{self.event_table}"').fetchone()
        return int(row[0])


# --- personal values -------------------------------------------------------------------------


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


def meaningful(values: Iterable[str]) -> set[str]:
    """Personal strings long enough that finding one by chance (in base64, say) is impossible."""
    return {v for v in values if v and v != ERASED and len(v) >= 6}


def personal_values(app: Forebyg, case_id: UUID) -> set[str]:
    """Every personal value of the case, read through the application as the system itself
    (no caller, no access-log entry): subject name and CPR number, concern, assessment notes,
    action descriptions, outcomes and reasons, review notes, closure summaries, reopening reasons."""
    view = app.get_case(case_id, include_personal=True)
    values: list[str] = []
    for key in CASE_PERSONAL_KEYS:
        values.extend(_texts(view.get(key)))
    for action in view["actions"]:
        for key in ACTION_PERSONAL_KEYS:
            values.extend(_texts(action.get(key)))
    for entry in app.get_case_history(case_id, include_personal=True):
        for name in PERSONAL_FIELDS.get(entry["type"], ()):
            values.extend(_texts(entry["data"].get(name)))
    found = meaningful(values)
    assert view["subject"]["name"] in found, "the subject's name must be among the values searched for"
    return found


def encodings(value: str) -> set[bytes]:
    """The ways a text may lie in stored bytes: UTF-8, and JSON with non-ASCII escaped."""
    return {value.encode("utf-8"), json.dumps(value)[1:-1].encode("ascii")}


def leaks_in(blob: bytes, values: Iterable[str]) -> list[str]:
    return sorted(v for v in values if any(form in blob for form in encodings(v)))


def leaks_per_place(places: Mapping[str, bytes], values: Iterable[str]) -> dict[str, list[str]]:
    wanted = list(values)
    found = {place: leaks_in(blob, wanted) for place, blob in places.items()}
    return {place: hits for place, hits in found.items() if hits}


# --- HTTP through the Flask client ----------------------------------------------------------------


def web_client(app: Forebyg, settings: Settings | None = None) -> FlaskClient:
    """A client of the web app over this application. Not in Flask's testing mode: an unhandled
    error is answered 500, as in production, rather than raised into the test."""
    flask_app = create_app(settings or Settings(secret_key=SECRET_KEY), application=app)
    return flask_app.test_client()


def sign_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> str:
    answer = client.post("/api/tokens", json={"username": username, "password": password})
    assert answer.status_code == 201, (answer.status_code, answer.get_data(as_text=True))
    token: str = answer.get_json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(answer: TestResponse, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:800])
    return answer.get_json()


# --- a real `forebyg serve` ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def forebyg_command() -> list[str]:
    script = Path(sys.executable).parent / "forebyg"
    return [str(script)] if script.exists() else [sys.executable, "-m", "interfaces.cli"]


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOREBYG_")}
    env.update(
        FOREBYG_DATABASE_URL=settings.database_url,
        FOREBYG_SECRET_KEY=SECRET_KEY,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@dataclass(frozen=True)
class Reply:
    worker: int  # the pid of the gunicorn worker that served the request
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def _tcp_inode(local_port: int, remote_port: int) -> str | None:
    """The socket inode of the TCP connection local_port → remote_port on 127.0.0.1, from /proc."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
            if ports == (local_port, remote_port) and inode != "0":
                return inode
    return None


def _owner(pids: Iterable[int], inode: str) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for entry in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(entry) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Server:
    """`forebyg serve --workers N` on PostgreSQL: the gunicorn master is the process started
    (serve execs gunicorn), its children are the workers. A request can be sent so that every
    worker serves one copy: connections are opened until /proc shows one accepted by each
    worker, and the requests are sent only then."""

    def __init__(self, settings: Settings, log: Path, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.workers_wanted = workers
        self.log = log
        with log.open("wb") as handle:
            self.popen = subprocess.Popen(
                [*forebyg_command(), "serve", "--workers", str(workers)],
                cwd=REPO,
                env=server_env(settings, FOREBYG_PORT=str(self.port), **env),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_serving()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop this server's own process group (the master and its workers)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
            except ProcessLookupError:
                pass

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        try:
            return sorted(int(pid) for pid in path.read_text().split())
        except FileNotFoundError:
            children = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        stat = (entry / "stat").read_text()
                    except OSError:
                        continue
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.popen.pid:
                        children.append(int(entry.name))
            return sorted(children)

    def _wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                pytest.fail(f"forebyg serve exited with {self.popen.returncode}:\n{self.output()}")
            if len(self.workers()) == self.workers_wanted:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    try:
                        if self._send(conn, "GET", "/healthz", {}, None)[0] == 200:
                            return
                    finally:
                        conn.close()
                except OSError:
                    pass
            time.sleep(0.1)
        pytest.fail(f"forebyg serve did not come up within {timeout:.0f}s:\n{self.output()}")

    def _send(
        self, conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str], data: Any
    ) -> tuple[int, dict[str, str], str]:
        payload = None if data is None else json.dumps(data)
        sent = dict(headers)
        if payload is not None:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=sent)
        answer = conn.getresponse()
        text = answer.read().decode("utf-8", errors="replace")
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, text

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, data: Any = None
    ) -> Reply:
        """One request over a fresh connection, served by whichever worker accepts it."""
        return self._exchange(1, method, path, headers, data)[0]

    def on_each_worker(
        self, method: str, path: str, headers: dict[str, str] | None = None, data: Any = None
    ) -> list[Reply]:
        """The same request once on every worker (each reply names the worker that served it)."""
        workers = self.workers()
        held = self._one_per_worker(workers)
        try:
            replies = [
                Reply(worker, *self._send(conn, method, path, headers or {}, data))
                for worker, conn in sorted(held.items())
            ]
        finally:
            for conn in held.values():
                conn.close()
        served = sorted(reply.worker for reply in replies)
        assert served == workers, f"the connections were not spread over the workers: {served}"
        return replies

    def _one_per_worker(self, workers: list[int]) -> dict[int, http.client.HTTPConnection]:
        """A connection accepted by each worker. A worker accepts any number of connections
        (its threads serve only requests that have arrived whole), so they are opened one at a
        time, and one accepted by a worker that holds one already is closed, until each does."""
        held: dict[int, http.client.HTTPConnection] = {}
        deadline = time.monotonic() + 30
        while len(held) < len(workers):
            if time.monotonic() > deadline:
                for conn in held.values():
                    conn.close()
                pytest.fail(f"the workers {workers} did not each accept a connection: {sorted(held)}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.connect()
            owner = self._owners([conn], workers)[0]
            if owner in held:
                conn.close()
            else:
                held[owner] = conn
        return held

    def _exchange(
        self, n: int, method: str, path: str, headers: dict[str, str] | None, data: Any
    ) -> list[Reply]:
        conns = [http.client.HTTPConnection("127.0.0.1", self.port, timeout=30) for _ in range(n)]
        try:
            for conn in conns:
                conn.connect()
            owners = self._owners(conns, self.workers())
            replies = []
            for conn, worker in zip(conns, owners, strict=True):
                status, got, text = self._send(conn, method, path, headers or {}, data)
                replies.append(Reply(worker, status, got, text))
            return replies
        finally:
            for conn in conns:
                conn.close()

    def _owners(self, conns: list[http.client.HTTPConnection], workers: list[int]) -> list[int]:
        deadline = time.monotonic() + 30
        while True:
            owners: list[int | None] = []
            for conn in conns:
                assert conn.sock is not None
                inode = _tcp_inode(self.port, conn.sock.getsockname()[1])
                owners.append(_owner(workers, inode) if inode else None)
            if all(owner is not None for owner in owners):
                return [owner for owner in owners if owner is not None]
            if time.monotonic() > deadline:
                pytest.fail(f"the workers {workers} did not accept the connections: {owners}")
            time.sleep(0.02)
