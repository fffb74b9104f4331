"""A real `forebyg serve` (gunicorn, several worker processes) on PostgreSQL, or its one process on
SQLite, and a small HTTP client.

The server runs as a subprocess in its own process group, with its output in files, and is
always stopped (the whole group) when the test ends.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from application.app import today_in_denmark
from application.bootstrap import build_application
from application.demo import DEMO_PASSWORD, ORGS
from application.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "http-tests-" + "s" * 48
START_TIMEOUT = 60.0


def forebyg_command(*args: str) -> list[str]:
    """The `forebyg` entry point of this interpreter's environment, else the CLI module."""
    beside = Path(sys.executable).with_name("forebyg")
    if beside.exists():
        return [str(beside), *args]
    found = shutil.which("forebyg")
    if found:
        return [found, *args]
    return [sys.executable, "-c", "from interfaces.cli import main; import sys; sys.exit(main())", *args]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(settings: Settings, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREBYG_")}
    env.update(
        FOREBYG_DATABASE_URL=settings.database_url,
        FOREBYG_SECRET_KEY=SECRET_KEY,
        FOREBYG_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_accounts(settings: Settings) -> None:
    """The demo's organisations and its coordinator's login, written through the application
    before any server starts (one password hash, not one per demo login: hashing is slow)."""
    app = build_application(settings)
    try:
        for org in ORGS:
            app.add_organisation(org.slug, name=org.name, kind=org.kind)
        app.add_user("koordinator", org="aarhus-kommune", role="coordinator", password=DEMO_PASSWORD)
    finally:
        app.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")


@dataclass
class Client:
    """One HTTP/1.1 connection per request (what concurrent clients look like to gunicorn)."""

    port: int
    token: str | None = None
    timeout: float = 30.0

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            received = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        parsed: Any = None
        if raw and "json" in received.get("content-type", ""):
            parsed = json.loads(raw)
        return Answer(response.status, received, parsed)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("POST", path, body, headers)

    def sign_in(self, username: str = "koordinator", password: str = DEMO_PASSWORD) -> Client:
        answer = Client(self.port).post("/api/tokens", {"username": username, "password": password})
        assert answer.status == 201, answer
        return Client(self.port, token=answer.body["token"], timeout=self.timeout)


@dataclass
class Server:
    """`forebyg serve` as a subprocess; `stop()` ends its whole process group."""

    settings: Settings
    workers: int
    log_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"serve-{self.port}.out"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"serve-{self.port}.err"

    def start(self) -> Server:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                forebyg_command("serve", "--workers", str(self.workers)),
                cwd=ROOT,
                env={**server_env(self.settings, self.port), **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"forebyg serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if Client(self.port, timeout=2).get("/readyz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"forebyg serve was not ready within {timeout:.0f} s:\n{self.output()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            with contextlib.suppress(ProcessLookupError):  # any worker left behind in the group
                os.killpg(process.pid, signal.SIGKILL)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def output(self) -> str:
        out = self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""
        return f"--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{self.stderr()[-8000:]}"


@pytest.fixture
def serve(postgres_settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """Start `forebyg serve --workers N` on the test's migrated schema, with the demo accounts;
    every server started is stopped at teardown."""
    started: list[Server] = []
    prepare_accounts(postgres_settings)

    def start(workers: int, *, wait: bool = True, env: Mapping[str, str] | None = None) -> Server:
        server = Server(postgres_settings, workers, tmp_path / "logs", env=dict(env or {}))
        started.append(server)
        server.start()
        if wait:
            server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def serve_sqlite(sqlite_settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """Start `forebyg serve` on the test's migrated SQLite store (one process, its only writer),
    with the demo accounts; stopped at teardown."""
    started: list[Server] = []
    prepare_accounts(sqlite_settings)

    def start(*, env: Mapping[str, str] | None = None) -> Server:
        data_dir = {"FOREBYG_DATA_DIR": str(sqlite_settings.data_dir)}
        server = Server(sqlite_settings, 1, tmp_path / "logs", env={**data_dir, **(env or {})})
        started.append(server)
        server.start()
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


def concurrently(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run the calls in as many threads, released together; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Answer | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = calls[i]()
        except BaseException as error:  # reported below, with the others
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [a for a in answers if not isinstance(a, Answer)]
    assert not errors, f"client errors: {errors}"
    return [a for a in answers if isinstance(a, Answer)]


def today() -> date:
    """The servers' business 'today' (their clock is Copenhagen's date)."""
    return today_in_denmark()


def gunicorn_problems(stderr: str, ignore: Sequence[str] = ()) -> list[str]:
    """Lines of the server's log that report an error."""
    markers = ("Traceback", "[ERROR]", "[CRITICAL]", " ERROR ", "ERROR:", "Exception", "WORKER TIMEOUT")
    markers += ('"level": "error"', '"level": "critical"')  # JSON lines (interfaces/logs.py)
    return [
        line
        for line in stderr.splitlines()
        if any(m in line for m in markers) and not any(i in line for i in ignore)
    ]
