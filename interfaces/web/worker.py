"""The gunicorn worker of `forebyg serve`: gunicorn's threaded worker, except that a request
reaches a thread only once it has arrived whole.

gunicorn's ThreadWorker gives a connection to a thread as soon as its first byte arrives; the
thread then blocks reading the rest, so a few clients trickling their headers or body a byte at
a time hold every thread and the service stops answering. Here the worker's event loop reads
each request itself, without blocking, headers and body (up to the body limit), and hands it to
a thread only when it is complete. A request not complete within the deadline is answered 408;
a body over the limit (by Content-Length or by its chunks) 413, without reading it; an
`Expect: 100-continue` is answered when the headers are in. Slow clients then cost a buffer
each, not a thread. Errors gunicorn's parser finds (400, 414, 431, ...) are answered as
application/problem+json with the Flask app's security headers, and name no part of the
request in the log (a request line carries a read's `?purpose=`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import selectors
import socket
import time
from collections import deque
from datetime import datetime
from functools import partial
from typing import Any

from gunicorn import http
from gunicorn.http import errors as parse_errors
from gunicorn.http.wsgi import Response as GunicornResponse
from gunicorn.http.wsgi import default_environ
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from application.settings import Settings
from interfaces.web import MAX_BODY
from interfaces.web.errors import PROBLEM, problem_document
from interfaces.web.headers import security_headers

#: How long a connection answered with an error is read from (and the bytes dropped) after the
#: answer, so that closing it does not reset it and lose the answer on the way.
LINGER = 2.0

_LINE_END = re.compile(rb"\r?\n")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_CHUNK_LINE_LIMIT = 4096

INCOMPLETE, COMPLETE, TOO_LARGE = "incomplete", "complete", "too large"


def title_of(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error")


def error_answer(status: int) -> bytes:
    """A whole HTTP/1.1 answer with the problem document for `status` (titled and described as
    werkzeug, so the Flask app, does), that closes the connection."""
    known: type[HTTPException] | None = default_exceptions.get(status)
    title = title_of(status)
    detail = (known().description or "") if known else ""
    body = json.dumps(problem_document(status, title, detail)).encode()
    headers = [
        ("Content-Type", PROBLEM),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        *security_headers(secure=False),  # before any header is read: not known to be https
    ]
    head = f"HTTP/1.1 {status} {title}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    return head.encode("latin-1") + body


def gunicorn_status(exc: BaseException) -> int:
    """The status gunicorn's own error page gives a parser error (500 for anything else)."""
    if isinstance(exc, (parse_errors.InvalidResponseHeader, parse_errors.InvalidResponseHeaderName)):
        return 500  # the application's fault, not the client's
    statuses: list[tuple[type[BaseException], int]] = [
        (parse_errors.LimitRequestLine, 414),
        (parse_errors.LimitRequestHeaders, 431),
        (parse_errors.ExpectationFailed, 417),
        (parse_errors.UnsupportedTransferCoding, 501),
        (parse_errors.ConfigurationProblem, 500),
        (parse_errors.ForbiddenProxyRequest, 403),
        (parse_errors.ParseException, 400),
    ]
    for kind, status in statuses:
        if isinstance(exc, kind):
            return status
    return 500


class RequestScan:
    """How much of one HTTP/1.1 request a buffer holds: fed bytes as they arrive, it says when
    the request is complete (or too large). It reads only the framing (the end of the headers,
    Content-Length, chunked Transfer-Encoding, Expect); whatever it does not understand it calls
    complete, so that gunicorn's parser, which is stricter, refuses it."""

    def __init__(self, data: bytes = b"", *, max_head: int, max_body: int) -> None:
        self.buf = bytearray()
        self.max_head, self.max_body = max_head, max_body
        self.body_start: int | None = None
        self.length: int | None = None  # Content-Length, when the body has one
        self.chunk_at: int | None = None  # where the next chunk's size line starts
        self.chunked_size = 0
        self.expects_continue = False
        self.state = INCOMPLETE
        self.feed(data)

    def feed(self, data: bytes) -> str:
        searched_from = max(0, len(self.buf) - 3)
        self.buf += data
        if self.state == INCOMPLETE:
            self.state = self._state(searched_from)
        return self.state

    @property
    def waits_for_continue(self) -> bool:
        """The headers are in, the client asked to be told to send the body, and none came."""
        return self.expects_continue and self.body_start == len(self.buf) and self.state == INCOMPLETE

    def _state(self, searched_from: int) -> str:
        if self.body_start is None:
            end = _BLANK_LINE.search(self.buf, searched_from)
            if end is None:
                return COMPLETE if len(self.buf) > self.max_head else INCOMPLETE  # gunicorn: 414/431
            framing = self._framing(bytes(self.buf[: end.start()]))
            self.body_start = end.end()
            if framing != INCOMPLETE:
                return framing
        if self.length is not None:
            return COMPLETE if len(self.buf) - self.body_start >= self.length else INCOMPLETE
        if self.chunk_at is not None:
            return self._chunks()
        return COMPLETE

    def _framing(self, head: bytes) -> str:
        lines = _LINE_END.split(head)
        fields: dict[bytes, list[bytes]] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                return COMPLETE  # malformed: gunicorn answers 400
            fields.setdefault(name.strip().lower(), []).append(value.strip())
        http_10 = lines[0].rstrip().endswith(b"HTTP/1.0")
        self.expects_continue = not http_10 and [v.lower() for v in fields.get(b"expect", [])] == [
            b"100-continue"
        ]
        lengths, codings = fields.get(b"content-length", []), fields.get(b"transfer-encoding", [])
        if codings:
            stacked = [c.strip().lower() for c in b",".join(codings).split(b",")]
            if lengths or stacked[-1] != b"chunked":
                return COMPLETE  # gunicorn refuses both framings at once, or a body not chunked
            self.chunk_at = 0  # chunked last, so chunks frame the body (gzip, chunked too)
            return INCOMPLETE
        if lengths:
            if len(lengths) != 1 or not lengths[0].isdigit():
                return COMPLETE  # gunicorn answers 400
            self.length = int(lengths[0])
            return TOO_LARGE if self.length > self.max_body else INCOMPLETE
        return INCOMPLETE

    def _chunks(self) -> str:
        assert self.body_start is not None and self.chunk_at is not None
        while True:
            at = self.body_start + self.chunk_at
            line_end = _LINE_END.search(self.buf, at)
            if line_end is None:
                return COMPLETE if len(self.buf) - at > _CHUNK_LINE_LIMIT else INCOMPLETE
            size_text = bytes(self.buf[at : line_end.start()]).split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                return COMPLETE  # gunicorn answers 400 (invalid chunk size)
            size = int(size_text, 16)
            self.chunked_size += size
            if self.chunked_size > self.max_body:
                return TOO_LARGE
            if size == 0:  # then the trailer section, ended by an empty line
                rest = self.buf[line_end.end() :]
                if rest.startswith((b"\r\n", b"\n")) or _BLANK_LINE.search(rest):
                    return COMPLETE
                return COMPLETE if len(rest) > self.max_head else INCOMPLETE
            data_end = line_end.end() + size
            if len(self.buf) < data_end + 2:
                self.chunked_size -= size  # counted again when the chunk is in
                return INCOMPLETE
            self.chunk_at = data_end + 2 - self.body_start


class BufferedConn(TConn):  # type: ignore[misc]
    """A connection whose blocking socket operations in a thread (reading a request the scan
    let through early, writing an answer to a client that does not read it) time out."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any, worker: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.worker = worker
        self.whole = False  # a complete request is buffered: a thread may serve it
        self.continued = False  # 100 Continue was sent for the buffered request

    def init(self) -> None:
        super().init()
        self.sock.settimeout(self.worker.request_deadline)

    def close(self, graceful: bool = False) -> None:
        if graceful:  # never block the event loop closing a connection
            self.worker.nr_conns += 1  # gunicorn uncounted it; it stays open while it lingers
            self.worker.linger(self)
        else:
            super().close()


class Waiting:
    """A connection in the event loop: its request arriving, or its error answer lingering."""

    __slots__ = ("conn", "deadline", "scan")

    def __init__(self, conn: BufferedConn, deadline: float, scan: RequestScan | None) -> None:
        self.conn, self.deadline, self.scan = conn, deadline, scan


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker whose threads only ever serve whole requests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # How long a whole request (headers and body) may take to arrive, from its first byte
        # (from the connection's opening for its first request).
        self.request_deadline = float(Settings.from_environ(os.environ).request_timeout_seconds)
        self.waiting: deque[Waiting] = deque()
        self.next_expiry_check = 0.0
        line = self.cfg.limit_request_line or 8190
        fields = self.cfg.limit_request_fields or 100
        field_size = self.cfg.limit_request_field_size or 8190
        self.max_head = line + fields * (field_size + 2) + 4  # what gunicorn's parser accepts

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError("forebyg's worker reads plain HTTP: terminate TLS in the proxy")

    # Connections come in: accepted, or readable again after a request.

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = BufferedConn(self.cfg, client_sock, client_addr, listener.getsockname(), self)
        self.enqueue_req(conn)

    def enqueue_req(self, conn: BufferedConn) -> None:
        """A thread for a whole request; any other connection waits in the event loop."""
        if conn.whole:
            conn.whole = False
            super().enqueue_req(conn)
            return
        held = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.continued = False
        scan = RequestScan(held, max_head=self.max_head, max_body=MAX_BODY)
        conn.sock.setblocking(False)
        waiting = Waiting(conn, time.monotonic() + self.request_deadline, scan)
        if self._advance(waiting):
            self.waiting.append(waiting)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, waiting))

    # Reading a request in the event loop.

    def _readable(self, waiting: Waiting, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if waiting.scan is None:  # lingering after an answer: the bytes are dropped
            if not data:
                self._forget(waiting)
                self._close(waiting.conn)
            return
        if not data:  # the client went away before its request was complete
            self._forget(waiting)
            self._close(waiting.conn)
            return
        waiting.scan.feed(data)
        self._advance(waiting)

    def _advance(self, waiting: Waiting) -> bool:
        """Act on what the scan says; whether the connection stays waiting as it is (if not, it
        is no longer among the waiting)."""
        scan, conn = waiting.scan, waiting.conn
        assert scan is not None
        if scan.state == COMPLETE:
            if conn.parser is None:
                conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.parser.unreader.unread(bytes(scan.buf))
            conn.initialized = conn.data_ready = conn.whole = True
            self._after_wait(waiting, lambda: self.enqueue_req(conn))
            return False
        if scan.state == TOO_LARGE:
            self._answer(waiting, 413)
            return False
        if scan.waits_for_continue and not conn.continued:
            conn.continued = True
            with contextlib.suppress(OSError):
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _after_wait(self, waiting: Waiting, then: Any) -> None:
        if waiting in self.waiting:
            self._forget(waiting)
        then()

    def _forget(self, waiting: Waiting) -> None:
        with contextlib.suppress(ValueError):
            self.waiting.remove(waiting)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(waiting.conn.sock)

    def _answer(self, waiting: Waiting, status: int) -> None:
        """An error answer from the event loop, then a lingering close."""
        self.log.info("Refused a request from ip=%s: %s", waiting.conn.client[0], status)
        with contextlib.suppress(OSError):
            waiting.conn.sock.send(error_answer(status))
        self._after_wait(waiting, lambda: self.linger(waiting.conn))

    def linger(self, conn: BufferedConn) -> None:
        """Close after the answer: half-close, then drop what the client still sends until it
        closes too or LINGER passes (closing with unread bytes would reset the connection)."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        waiting = Waiting(conn, time.monotonic() + LINGER, None)
        self.waiting.append(waiting)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, waiting))

    def _close(self, conn: BufferedConn) -> None:
        self.nr_conns -= 1
        TConn.close(conn)

    def murder_pending(self) -> None:
        """Also end what waited too long: 408 to a request still arriving, and close a lingering
        connection. All are looked at (two spans, so not in order of deadline), 4 times a second
        at most: the loop turns after every event."""
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_expiry_check and self.alive:
            return
        self.next_expiry_check = now + 0.25
        for waiting in list(self.waiting):
            idle = waiting.scan is not None and not waiting.scan.buf
            if waiting.deadline > now and not (idle and not self.alive):
                continue
            if waiting.scan is None or (idle and not self.alive):  # stopping: idle ones just close
                self._forget(waiting)
                self._close(waiting.conn)
            else:
                self._answer(waiting, 408)

    # What gunicorn does with a request a thread serves.

    def handle_request(self, req: Any, conn: BufferedConn) -> bool:
        req._expected_100_continue = False  # the body is in already (the worker asked for it)
        result: bool = super().handle_request(req, conn)
        return result

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """gunicorn's own answers to what its parser refuses, as problem+json with the app's
        security headers; the log names the kind of error, never the request's text."""
        request_start = datetime.now()
        status = gunicorn_status(exc)
        addr = addr or ("", -1)
        if status == 500:
            self.log.exception("Error handling request (%s)", type(exc).__name__)
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], type(exc).__name__)
        if req is None and isinstance(exc, (parse_errors.InvalidHeader, parse_errors.InvalidHeaderName)):
            req = getattr(exc, "req", None)
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            resp = GunicornResponse(req, client, self.cfg)
            resp.status = f"{status} {title_of(status)}"
            self.log.access(resp, req, environ, datetime.now() - request_start)
        try:
            client.sendall(error_answer(status))
        except OSError:
            self.log.debug("Failed to send error message.")
