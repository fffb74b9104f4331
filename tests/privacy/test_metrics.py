"""`/metrics`: the figures an operator watches, in the Prometheus text format, behind a token
of their own — and never a case id, subject id, user name or personal value in a label.

Run in process on both stores, and on a real `forebyg serve` with two workers (prometheus_client's
multiprocess mode adds up what each worker counted) beside a real `forebyg scheduler`.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from application.demo import ORGS, USERS, build_demo
from application.settings import Settings
from tests.conftest import TODAY
from tests.privacy.support import (
    COORDINATOR,
    DPO,
    REPO,
    SECRET_KEY,
    Server,
    Store,
    bearer,
    body,
    forebyg_command,
    personal_values,
    server_env,
    sign_in,
    web_client,
)

TOKEN = "metrics-token-" + "0123456789abcdef" * 2
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
UUID_LIKE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, by name and labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum of a series over the labels not named."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= set(ls))


def label_values(found: Samples) -> set[str]:
    return {v for (_, ls) in found for _, v in ls}


def scrape(client: FlaskClient) -> Samples:
    answer = client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
    assert answer.mimetype == "text/plain"
    return samples(answer.get_data(as_text=True))


@pytest.fixture
def metered(store: Store) -> Iterator[tuple[Store, FlaskClient]]:
    settings = replace(store.settings, secret_key=SECRET_KEY, metrics_token=TOKEN)
    yield store, web_client(store.app(), settings)


def test_metrics_count_requests_by_route_and_name_no_id_user_or_personal_value(
    metered: tuple[Store, FlaskClient],
) -> None:
    store, client = metered
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=6)
    before = scrape(client)
    token = sign_in(client, COORDINATOR)
    case = body(client.get("/api/cases", headers=bearer(token)))["items"][0]["id"]
    purpose = "?purpose=preparing the meeting"
    body(client.get(f"/api/cases/{case}{purpose}", headers=bearer(token)))
    body(client.get(f"/api/cases/{case}/history{purpose}", headers=bearer(token)))
    assert client.get(f"/api/cases/{uuid4()}/nothing-here", headers=bearer(token)).status_code == 404
    refused = client.post(f"/api/cases/{case}/actions", json={"owner_org": ""}, headers=bearer(token))
    assert refused.status_code in (422, 428)
    wrong = client.post("/api/tokens", json={"username": COORDINATOR, "password": "not it"})
    assert wrong.status_code == 401

    found = scrape(client)
    case_route = "/api/cases/<uuid:case_id>"
    assert value(found, "forebyg_http_requests_total", route=case_route, status="200", method="GET") == (
        value(before, "forebyg_http_requests_total", route=case_route, status="200", method="GET") + 1
    )
    assert value(found, "forebyg_http_requests_total", route="unmatched", status="404") >= 1
    assert value(found, "forebyg_http_request_duration_seconds_count", route=case_route) >= 1
    assert value(found, "forebyg_commands_total", command="tokens.create_token", outcome="recorded") >= 1
    assert value(found, "forebyg_commands_total", command="tokens.create_token", outcome="forbidden") >= 1
    assert value(found, "forebyg_sign_in_failures_total", reason="rejected") == (
        value(before, "forebyg_sign_in_failures_total", reason="rejected") + 1
    )
    assert value(found, "forebyg_events") == app.recorder.max_notification_id()  # type: ignore[attr-defined]
    assert value(found, "forebyg_projection_lag_events") >= 0
    assert ("forebyg_reminders_due", ()) in found
    assert ("forebyg_schedulers", (("state", "active"),)) in found

    # No label names a case, subject, user, organisation or person, and neither does the text.
    text = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)
    personal = set().union(*(personal_values(app, c) for c in demo.cases))
    names = {username for username, _, _ in USERS} | {org.slug for org in ORGS}
    for label in label_values(found):
        assert not UUID_LIKE.search(label), label
        assert label not in names, label
    assert not UUID_LIKE.search(text)
    assert "purpose" not in text
    assert [v for v in personal if v in text] == []
    assert [v for v in names if re.search(rf"\b{re.escape(v)}\b", text)] == []


def test_erasures_are_counted(metered: tuple[Store, FlaskClient]) -> None:
    store, client = metered
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=3)
    before = value(scrape(client), "forebyg_erasures_total", kind="subject")
    dpo = bearer(sign_in(client, DPO))
    subject = app.get_case(demo.cases[0])["subject_id"]
    answer = client.post(f"/api/subjects/{subject}/erasure", json={"reason": "art. 17 request"}, headers=dpo)
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    assert value(scrape(client), "forebyg_erasures_total", kind="subject") == before + 1


def test_metrics_answer_only_with_their_token(store: Store) -> None:
    app = store.app()
    unconfigured = web_client(app, replace(store.settings, secret_key=SECRET_KEY))
    assert unconfigured.get("/metrics", headers=SCRAPE).status_code == 404
    client = web_client(app, replace(store.settings, secret_key=SECRET_KEY, metrics_token=TOKEN))
    for headers in ({}, {"Authorization": "Bearer " + "x" * len(TOKEN)}, {"Authorization": TOKEN}):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.mimetype == "application/problem+json"
    # A user's token is not the metrics token.
    build_demo(app, today=TODAY, cases=1)
    assert client.get("/metrics", headers=bearer(sign_in(client, COORDINATOR))).status_code == 401
    assert client.get("/metrics", headers=SCRAPE).status_code == 200


def test_a_too_short_metrics_token_is_refused_at_start() -> None:
    from application.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="FOREBYG_METRICS_TOKEN"):
        Settings.from_environ({"FOREBYG_METRICS_TOKEN": "short"})


@pytest.mark.postgres
def test_served_metrics_add_up_every_worker_and_see_the_active_scheduler(
    postgres_store: Store, tmp_path: Path
) -> None:
    settings = postgres_store.settings
    env = {"FOREBYG_METRICS_TOKEN": TOKEN, "FOREBYG_DATA_DIR": str(tmp_path / "var")}
    server = Server(settings, tmp_path / "serve.log", workers=2, **env)
    scheduler = None
    try:
        before = samples(server.request("GET", "/metrics", SCRAPE).text)
        for _ in range(3):
            replies = server.on_each_worker("GET", "/healthz")
            assert {r.status for r in replies} == {200}
        text = server.request("GET", "/metrics", SCRAPE).text
        found = samples(text)
        healthz = {"route": "/healthz", "status": "200"}
        counted = value(found, "forebyg_http_requests_total", **healthz)
        assert counted == value(before, "forebyg_http_requests_total", **healthz) + 6  # 3 per worker
        assert value(found, "forebyg_schedulers", state="active") == 0

        scheduler = subprocess.Popen(
            [*forebyg_command(), "scheduler"],
            cwd=REPO,
            env=server_env(settings, FOREBYG_SCHEDULER_INTERVAL_SECONDS="1", **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = samples(server.request("GET", "/metrics", SCRAPE).text)
            if value(found, "forebyg_schedulers", state="active") == 1:
                break
            time.sleep(0.3)
        assert value(found, "forebyg_schedulers", state="active") == 1
        assert value(found, "forebyg_scheduler_seconds_since_active_tick") < 10
        scheduler.terminate()
        assert scheduler.wait(20) == 0
        found = samples(server.request("GET", "/metrics", SCRAPE).text)
        assert value(found, "forebyg_schedulers", state="active") == 0  # a stopped one says so
        assert server.request("GET", "/metrics").status == 401
    finally:
        if scheduler is not None and scheduler.poll() is None:
            scheduler.kill()
        server.stop()
    assert "Traceback" not in server.output(), server.output()
