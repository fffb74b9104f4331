"""How the gunicorn worker tells that a request has arrived whole, before a thread serves it:
from the end of its headers and its framing (Content-Length or chunks), whatever pieces the
bytes arrive in. What it cannot read it calls complete, for gunicorn's parser to refuse."""

from __future__ import annotations

import pytest

from interfaces.web.worker import COMPLETE, INCOMPLETE, TOO_LARGE, RequestScan

MAX_HEAD, MAX_BODY = 1000, 100
POST = b"POST /api/cases HTTP/1.1\r\nHost: forebyg\r\nContent-Type: application/json\r\n"
WHOLE = {
    "no body": b"GET /healthz HTTP/1.1\r\nHost: forebyg\r\n\r\n",
    "a Content-Length body": POST + b'Content-Length: 11\r\n\r\n{"a": "b"}\n',
    "chunks": POST + b'Transfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n7;ext=1\r\n: "b"}\n\r\n0\r\n\r\n',
    "gzip, then chunks": POST
    + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "chunks and a trailer": POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n",
    "bare line feeds": b"GET /healthz HTTP/1.1\nHost: forebyg\n\n",
}


def scan(data: bytes = b"") -> RequestScan:
    return RequestScan(data, max_head=MAX_HEAD, max_body=MAX_BODY)


@pytest.mark.parametrize("request_bytes", WHOLE.values(), ids=WHOLE.keys())
def test_a_request_is_complete_with_its_last_byte_and_not_before(request_bytes: bytes) -> None:
    assert scan(request_bytes).state == COMPLETE
    byte_by_byte = scan()
    states = [byte_by_byte.feed(request_bytes[i : i + 1]) for i in range(len(request_bytes))]
    assert states == [INCOMPLETE] * (len(request_bytes) - 1) + [COMPLETE]


@pytest.mark.parametrize("request_bytes", WHOLE.values(), ids=WHOLE.keys())
def test_bytes_held_from_before_count_as_arrived(request_bytes: bytes) -> None:
    for cut in range(len(request_bytes)):
        held = scan(request_bytes[:cut])
        assert held.feed(request_bytes[cut:]) == COMPLETE, cut


def test_a_body_over_the_limit_is_too_large_before_it_arrives() -> None:
    assert scan(POST + b"Content-Length: 101\r\n\r\n").state == TOO_LARGE
    assert scan(POST + b"Content-Length: 100\r\n\r\n").state == INCOMPLETE
    chunks = scan(POST + b"Transfer-Encoding: chunked\r\n\r\n32\r\n" + b"x" * 50 + b"\r\n")
    assert chunks.state == INCOMPLETE
    assert chunks.feed(b"33\r\n") == TOO_LARGE  # 50 + 51 announced: no need to wait for them
    exactly = scan(POST + b"Transfer-Encoding: chunked\r\n\r\n64\r\n" + b"x" * 100 + b"\r\n0\r\n\r\n")
    assert exactly.state == COMPLETE


def test_headers_over_the_limit_are_left_to_gunicorn_which_answers_414_or_431() -> None:
    endless = scan(b"GET /" + b"x" * (MAX_HEAD - 5))
    assert endless.state == INCOMPLETE
    assert endless.feed(b"xx") == COMPLETE


@pytest.mark.parametrize(
    "request_bytes",
    [
        POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        POST + b"Content-Length: five\r\n\r\n",
        POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
        POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n",
        POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n",
    ],
    ids=[
        "both framings",
        "a length not a number",
        "two lengths",
        "not chunked last",
        "a bad chunk",
        "no colon",
    ],
)
def test_framing_it_cannot_read_is_handed_on_at_once(request_bytes: bytes) -> None:
    assert scan(request_bytes).state == COMPLETE


def test_it_waits_for_continue_only_while_an_expected_body_has_not_started() -> None:
    head = POST + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    asked = scan(head)
    assert asked.waits_for_continue
    assert asked.feed(b"{") == INCOMPLETE and not asked.waits_for_continue
    assert not scan(head.replace(b"HTTP/1.1", b"HTTP/1.0")).waits_for_continue  # ignored in 1.0
    assert not scan(POST + b"Content-Length: 2\r\n\r\n").waits_for_continue
