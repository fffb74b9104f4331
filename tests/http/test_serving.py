"""What a real `forebyg serve` (gunicorn) shows of a request: no query string (a read's stated
`?purpose=`) in its logs, and no trust in forwarded headers unless it is behind a TLS proxy."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from tests.http.conftest import Client, Server

pytestmark = pytest.mark.postgres


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


def test_x_forwarded_proto_from_loopback_is_not_trusted_without_a_tls_proxy(serve: Any) -> None:
    server: Server = serve(1)
    spoofed = Client(server.port).get("/healthz", headers={"X-Forwarded-Proto": "https"})

    assert spoofed.status == 200
    assert "strict-transport-security" not in spoofed.headers, spoofed.headers
