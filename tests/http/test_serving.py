"""What a real `forebyg serve` (gunicorn) shows of a request: no query string (a read's stated
`?purpose=`) in its logs, and no trust in forwarded headers unless it is behind a TLS proxy.
How it serves: slow clients hold no thread and are cut off with 408; what gunicorn's parser
refuses (400, 414, 431) and a body over the limit (413) are answered as problem+json with the
app's security headers."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from application.demo import DEMO_PASSWORD
from interfaces.web import MAX_BODY
from interfaces.web.headers import SECURITY_HEADERS
from interfaces.web.server import THREADS
from tests.http.conftest import Client, Server, gunicorn_problems


@pytest.mark.postgres
def test_a_stated_purpose_appears_in_no_log_of_the_server(serve: Any) -> None:
    server: Server = serve(1)
    purpose = f"purpose-{uuid4().hex}"
    client = Client(server.port).sign_in()
    answers = [
        client.get(f"/api/cases?purpose={purpose}"),
        client.get(f"/api/forums?purpose={purpose}"),
        Client(server.port).get(f"/healthz?purpose={purpose}"),
    ]
    server.stop()

    assert [a.status for a in answers if a.status >= 500] == []
    output = server.stdout_path.read_text() + server.stderr()
    assert '"route": "/healthz"' in output, output  # the request log names the URL rule
    assert purpose not in output, output


@pytest.mark.postgres
def test_x_forwarded_proto_from_loopback_is_not_trusted_without_a_tls_proxy(serve: Any) -> None:
    server: Server = serve(1)
    spoofed = Client(server.port).get("/healthz", headers={"X-Forwarded-Proto": "https"})

    assert spoofed.status == 200
    assert "strict-transport-security" not in spoofed.headers, spoofed.headers


# --- what the worker answers itself, over raw sockets ----------------------------------------

TIMEOUT = 5  # FOREBYG_REQUEST_TIMEOUT_SECONDS of the servers below


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    informational: list[int]  # 1xx answers before it


def read_answer(sock: socket.socket, timeout: float = 10.0) -> RawAnswer:
    """One answer (after any 1xx) read from a raw socket."""
    sock.settimeout(timeout)
    data, informational = b"", []
    while True:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed before an answer: {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if status >= 200:
            break
        informational.append(status)
    length = int(headers.get("content-length", "0"))
    while len(data) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside the answer's body"
        data += chunk
    return RawAnswer(status, headers, data[:length], informational)


def exchange(port: int, request: bytes) -> RawAnswer:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return read_answer(sock)


def assert_problem(answer: RawAnswer, status: int) -> None:
    """The status, as application/problem+json with the app's security headers."""
    assert answer.status == status, answer
    assert answer.headers.get("content-type") == "application/problem+json", answer.headers
    body = json.loads(answer.body)
    assert body["status"] == status and body["title"] and body["type"] == "about:blank", body
    for name, value in SECURITY_HEADERS:
        assert answer.headers.get(name.lower()) == value, (name, answer.headers)
    assert answer.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", "")


class Tricklers:
    """Connections that send a request's start, then one byte every 0.2 s, until the server
    answers; what each was answered."""

    def __init__(self, port: int, starts: list[bytes]) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in starts]
        for sock, start in zip(self.socks, starts, strict=True):
            sock.sendall(start)
        self.answers: dict[int, RawAnswer | BaseException] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stopped.is_set() and len(self.answers) < len(self.socks):
            waiting = [s for i, s in enumerate(self.socks) if i not in self.answers]
            readable, _, _ = select.select(waiting, [], [], 0.2)
            for sock in waiting:
                i = self.socks.index(sock)
                try:
                    if sock in readable:
                        self.answers[i] = read_answer(sock)
                    else:
                        sock.send(b"a")
                except (OSError, AssertionError) as error:
                    self.answers[i] = error

    def answered(self) -> int:
        return len(self.answers)

    def wait(self, timeout: float) -> list[RawAnswer | BaseException]:
        self.thread.join(timeout)
        self.stopped.set()
        return [self.answers.get(i, TimeoutError("no answer")) for i in range(len(self.socks))]

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for sock in self.socks:
            sock.close()


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_slow_clients_hold_no_worker_and_are_cut_off_with_408(
    store: str, request: pytest.FixtureRequest
) -> None:
    env = {"FOREBYG_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT)}
    if store == "postgres":
        workers, server = 2, request.getfixturevalue("serve")(2, env=env)
    else:  # one process, the store's only writer
        workers, server = 1, request.getfixturevalue("serve_sqlite")(env=env)
    threads = workers * THREADS  # every thread of every worker
    client = Client(server.port, timeout=10).sign_in()
    body_start = (
        b"POST /api/tokens HTTP/1.1\r\nHost: forebyg\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    header_start = b"GET /api/cases HTTP/1.1\r\nHost: forebyg\r\nX-Slow: "
    chunked = b"POST /api/tokens HTTP/1.1\r\nHost: forebyg\r\nTransfer-Encoding: %s\r\n\r\n1000\r\n"
    kinds = [body_start, header_start, chunked % b"chunked", chunked % b"gzip, chunked"]
    started = time.monotonic()
    slow = Tricklers(server.port, [kinds[i % len(kinds)] for i in range(2 * threads)])  # 2 per thread
    try:
        time.sleep(1.0)  # all accepted and trickling
        timings = []
        for call in (
            lambda: Client(server.port, timeout=10).get("/healthz"),
            lambda: client.get("/api/cases"),
        ):
            t0 = time.monotonic()
            answer = call()
            timings.append(time.monotonic() - t0)
            assert answer.status == 200, answer
        still_trickling = len(slow.socks) - slow.answered()
        answers = slow.wait(timeout=TIMEOUT + 10)
        cut_after = time.monotonic() - started
    finally:
        slow.close()

    assert max(timings) < 2.0, timings
    assert still_trickling == 2 * threads  # the service answered while every one was held open
    for answer in answers:
        assert isinstance(answer, RawAnswer), answer
        assert_problem(answer, 408)
    assert TIMEOUT - 1 <= cut_after <= TIMEOUT + 5, cut_after
    assert gunicorn_problems(server.stderr()) == []


@pytest.mark.postgres
def test_what_gunicorn_refuses_is_answered_as_problem_json_and_named_in_no_log(
    serve: Any, subtests: pytest.Subtests
) -> None:
    server: Server = serve(1)
    purpose = f"purpose-{uuid4().hex}"
    oversize = json.dumps({"padding": "x" * MAX_BODY}).encode()
    post = b"POST /api/tokens HTTP/1.1\r\nHost: forebyg\r\nContent-Type: application/json\r\n"
    refused = {
        "a malformed request line": (f"GET /api/cases?purpose={purpose} NONSENSE\r\n\r\n".encode(), 400),
        "a header line without a colon": (b"GET /healthz HTTP/1.1\r\nHost: forebyg\r\nNo colon\r\n\r\n", 400),
        "a request line over 4094 bytes": (
            f"GET /api/cases?purpose={purpose}&{'x' * 5000} HTTP/1.1\r\nHost: forebyg\r\n\r\n".encode(),
            414,
        ),
        "a header field over 8190 bytes": (
            b"GET /healthz HTTP/1.1\r\nHost: forebyg\r\nX-Big: " + b"x" * 9000 + b"\r\n\r\n",
            431,
        ),
        "a Content-Length over 256 KiB": (
            post + b"Content-Length: %d\r\n\r\n" % len(oversize) + oversize,
            413,
        ),
        "an announced Content-Length over 256 KiB, nothing sent": (
            post + b"Content-Length: 300000\r\n\r\n",
            413,
        ),
        "a chunked body over 256 KiB": (
            post
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(oversize)
            + oversize
            + b"\r\n0\r\n\r\n",
            413,
        ),
        "a chunked body over 256 KiB in small chunks": (
            post
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"400\r\n" + b"x" * 1024 + b"\r\n" for _ in range(300)),
            413,
        ),
    }
    for label, (request, status) in refused.items():
        with subtests.test(msg=label):
            assert_problem(exchange(server.port, request), status)

    with subtests.test(msg="the service still answers"):
        assert Client(server.port).get("/healthz").status == 200
    server.stop()
    assert purpose not in server.stdout_path.read_text() + server.stderr()


@pytest.mark.postgres
def test_the_worker_answers_expect_100_continue_and_pipelined_requests(serve: Any) -> None:
    server: Server = serve(1)
    body = json.dumps({"username": "koordinator", "password": DEMO_PASSWORD}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/tokens HTTP/1.1\r\nHost: forebyg\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        sock.settimeout(10)
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"  # then the body, not before
        sock.sendall(body)
        signed_in = read_answer(sock)
        health = b"GET /healthz HTTP/1.1\r\nHost: forebyg\r\n\r\n"
        sock.sendall(health + health + health[:20])  # two whole requests, the next one's start
        first, second = read_answer(sock, timeout=2), read_answer(sock, timeout=2)
        sock.sendall(health[20:])
        third = read_answer(sock, timeout=2)

    assert signed_in.status == 201 and signed_in.informational == [], signed_in
    assert json.loads(signed_in.body)["token"]
    assert (first.status, second.status, third.status) == (200, 200, 200)
