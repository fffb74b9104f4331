"""Operational logs: JSON lines, one per request with its request id (also returned as
`X-Request-Id`), naming user id, organisation and role — never a personal value, a token or a
password; and a redaction step, tested on its own, that masks whatever slips through."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID

import pytest

from application.base import today_in_denmark
from application.demo import DEMO_PASSWORD, build_demo
from application.settings import Settings
from interfaces.logs import REDACTED, JsonFormatter, TextFormatter, redact
from tests.conftest import TODAY
from tests.privacy.support import COORDINATOR, PURPOSE, Server, Store, bearer, personal_values

TOKEN = "Zm9yZWJ5Zy1zZXNzaW9uLXRva2VuLTAxMjM0NTY3ODk"


def record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"failed for 010203-1234 with Bearer {TOKEN}")
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("forebyg.test", logging.INFO, __file__, 1, message, args, exc_info)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_redaction_masks_tokens_passwords_cprs_addresses_and_purposes() -> None:
    said = (
        f"Authorization: Bearer {TOKEN}; password=hunter2-secret, token: abc.def;"
        " GET /api/cases?status=open&purpose=mors%20sag&x=1 for anna.hansen@aarhus.dk, CPR 010203-1234,"
        " postgresql://forebyg:pw@db:5432/forebyg"
    )
    masked = redact(said)
    for secret in (TOKEN, "hunter2-secret", "abc.def", "mors", "anna.hansen", "010203-1234", ":pw@"):
        assert secret not in masked, (secret, masked)
    assert "status=open" in masked and "x=1" in masked  # the rest of the line stays readable
    assert redact({"password": "p", "nested": {"Authorization": "x", "count": 3}}) == {
        "password": REDACTED,
        "nested": {"Authorization": REDACTED, "count": 3},
    }


def test_a_json_line_holds_the_extra_fields_redacted_and_the_exception_redacted() -> None:
    line = JsonFormatter().format(
        record("sign-in for %s", "user 0102031234", exc=True, user_id="u-1", password="hunter2", count=2)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "forebyg.test"
    assert entry["user_id"] == "u-1" and entry["count"] == 2
    assert entry["password"] == REDACTED
    assert "0102031234" not in line and "010203-1234" not in line and TOKEN not in line
    assert "ValueError" in entry["exception"]
    text = TextFormatter().format(record("token=%s", TOKEN))
    assert TOKEN not in text


@pytest.mark.postgres
def test_the_logs_of_a_journey_hold_no_personal_value_token_or_password(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    store = Store("postgres", postgres_settings)
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=4)
    values = set().union(*(personal_values(app, case) for case in demo.cases))
    name, cpr, concern = "Zofia Logtest-Jensen", "020304-5678", "Bekymring: logtest, storebror dømt"
    server = Server(postgres_settings, tmp_path / "serve.log")
    request_ids: list[str] = []
    tokens: list[str] = []
    try:

        def send(
            method: str, path: str, headers: dict[str, str] | None = None, data: object = None
        ) -> object:
            reply = server.request(method, path, headers, data)
            assert reply.status < 500, reply
            request_ids.append(reply.headers["x-request-id"])
            return reply

        signed = send("POST", "/api/tokens", data={"username": COORDINATOR, "password": DEMO_PASSWORD})
        token = signed.json()["token"]
        tokens.append(token)
        send("POST", "/api/tokens", data={"username": COORDINATOR, "password": "a-wrong-password-42"})
        caller = bearer(token)
        forum = send("GET", "/api/forums", caller).json()["items"][0]["id"]
        referral = {
            "forum_id": forum,
            "target_group": "younger_sibling",
            "referred_by": "oestjyllands-politi",
            "received_on": today_in_denmark().isoformat(),
            "legal_basis": "consent",
            "concern": concern,
            "subject": {"name": name, "cpr": cpr, "birth_year": 2010},
        }
        case = send("POST", "/api/cases", caller, referral).json()["id"]
        for path in (f"/api/cases/{case}", f"/api/cases/{case}/history", f"/api/cases/{demo.cases[0]}"):
            send("GET", f"{path}?{urlencode({'purpose': PURPOSE})}", caller)
        send("GET", f"/api/cases/{case}?purpose=", caller)  # refused: no purpose given
        send("GET", "/api/nowhere")
        send("DELETE", "/api/tokens", caller)
    finally:
        server.stop()
        store.close()

    output = server.output()
    said = ("Forebyg serves on ", "Its store: ")  # what `serve` prints for a person before gunicorn
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith(said)]
    entries = [json.loads(line) for line in lines]  # every line is JSON, gunicorn's own included
    requests = [e for e in entries if e["logger"] == "forebyg.request"]
    assert set(request_ids) <= {e["request_id"] for e in requests}  # (and the start-up's /healthz)
    assert len(set(request_ids)) == len(request_ids)
    assert {e["route"] for e in requests} >= {"/api/tokens", "/api/cases/<uuid:case_id>", "unmatched"}
    sign_ins = [e for e in requests if e["route"] == "/api/tokens" and e["status"] == 201]
    assert sign_ins and all(e["user_id"] and e["org"] == "aarhus-kommune" for e in sign_ins)
    signed_in = [e for e in requests if e["user_id"] is not None]
    assert signed_in and {e["org"] for e in signed_in} == {"aarhus-kommune"}
    assert all(UUID(e["user_id"]) for e in signed_in)
    secrets = {DEMO_PASSWORD, "a-wrong-password-42", *tokens, name, cpr, concern, PURPOSE, COORDINATOR}
    assert [s for s in secrets | values if s in output] == []
    assert str(case) not in output  # ids of cases stay out too: a request names its URL rule
