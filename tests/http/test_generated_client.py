"""A client generated from the served OpenAPI document works: openapi-python-client generates
one (offline, from the document a real `forebyg serve` answers at /api/openapi.json) into a
temporary package, which is imported and drives a coordinator's journey against that server:
sign in, establish a forum, refer a case, assess it, agree an action, read the history. Every
answer is parsed into the generated model its operation documents."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest

from application.demo import DEMO_PASSWORD
from tests.http.conftest import Client, today

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PACKAGE = "forebyg_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def _generate(document: dict[str, Any], into: Path) -> Path:
    """The client package generated from the document, without network (the document is a file)."""
    into.mkdir(parents=True)
    spec = into / "openapi.json"
    spec.write_text(json.dumps(document))
    config = into / "config.yaml"
    config.write_text(f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n")
    command = [str(GENERATOR)] if GENERATOR.exists() else [sys.executable, "-m", "openapi_python_client"]
    options = [
        "--path",
        str(spec),
        "--output-path",
        str(into / PACKAGE),
        "--meta",
        "none",
        "--config",
        str(config),
    ]
    generated = subprocess.run(
        [*command, "generate", *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    # The generator warns (and leaves an operation or a model out) when it cannot read a part
    # of the document: none may be skipped.
    assert "Warning" not in output and "Unable" not in output, output
    return into


@pytest.fixture
def generated(serve: Any, tmp_path: Path) -> Iterator[tuple[ModuleType, int]]:
    """The generated package, imported, and the port of the server it was generated from."""
    server = serve(1)
    answer = Client(server.port).get("/api/openapi.json")
    assert answer.status == 200
    root = _generate(answer.body, tmp_path / "generated")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE), server.port
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_client_generated_from_the_served_document_drives_a_journey(
    generated: tuple[ModuleType, int],
) -> None:
    package, port = generated
    models = _module(package, "models")
    sign_in = _module(package, "api.tokens.sign_in")
    establish_forum = _module(package, "api.forums.establish_forum")
    refer_case = _module(package, "api.cases.refer_case")
    assess_case = _module(package, "api.cases.assess_case")
    agree_action = _module(package, "api.cases.agree_action")
    get_case = _module(package, "api.cases.get_case")
    get_case_history = _module(package, "api.cases.get_case_history")
    base_url = f"http://127.0.0.1:{port}"
    day = today()

    token = sign_in.sync(
        client=package.Client(base_url=base_url),
        body=models.TokenRequest(username="koordinator", password=DEMO_PASSWORD),
    )
    assert isinstance(token, models.Token), token
    assert token.token and token.expires_at
    client = package.AuthenticatedClient(base_url=base_url, token=token.token)

    forum = establish_forum.sync(
        client=client,
        body=models.EstablishForumRequest(
            name="Samarbejdsforum Hasle",
            municipality="Aarhus",
            housing_areas=["Hasle"],
            members=["aarhus-boligsocial"],
        ),
    )
    assert isinstance(forum, models.Recorded), forum
    assert isinstance(forum.id, UUID) and forum.version >= 1

    subject = models.SubjectRequest(name="Noor Syntetisk", birth_year=2009)
    referral = models.ReferCaseRequest(
        forum_id=forum.id,
        target_group=models.ReferCaseRequestTargetGroup.YOUNGER_SIBLING,
        referred_by="aarhus-boligsocial",
        received_on=day,
        legal_basis=models.ReferCaseRequestLegalBasis.CONSENT,
        concern="Storebror dømt; drengen idoliserer ham",
        subject=subject,
    )
    case = refer_case.sync(client=client, body=referral, idempotency_key="journey-referral")
    assert isinstance(case, models.CaseRecorded), case
    assert isinstance(case.subject_id, UUID)
    again = refer_case.sync_detailed(client=client, body=referral, idempotency_key="journey-referral")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert isinstance(again.parsed, models.CaseRecorded) and again.parsed.id == case.id

    # The documented refusal: the key reused with another body is 422 naming the header.
    other = models.ReferCaseRequest.from_dict({**referral.to_dict(), "concern": "En anden bekymring"})
    reused = refer_case.sync_detailed(client=client, body=other, idempotency_key="journey-referral")
    assert reused.status_code == 422
    assert isinstance(reused.parsed, models.Problem)
    assert "Idempotency-Key" in reused.parsed.errors.additional_properties

    assessed = assess_case.sync(
        case.id,
        client=client,
        body=models.AssessCaseRequest(
            assessed_on=day,
            decision=models.AssessCaseRequestDecision.ACCEPT,
            risk_and_threat="Moderat",
            wellbeing_and_resilience="Stabil skolegang",
            judgement="Forløb med mentor",
        ),
        if_match=f'"{case.version}"',
    )
    assert isinstance(assessed, models.Recorded), assessed
    assert assessed.version == case.version + 1

    action = agree_action.sync(
        case.id,
        client=client,
        body=models.AgreeActionRequest(
            kind=models.AgreeActionRequestKind.MENTOR,
            description="Mentorforløb i klubben",
            responsible_org="aarhus-boligsocial",
            due_on=day + timedelta(days=30),
        ),
    )
    assert isinstance(action, models.ActionRecorded), action
    assert isinstance(action.action_id, UUID)

    read = get_case.sync(case.id, client=client)
    assert isinstance(read, models.Case), read
    assert read.status == "active" and read.version == action.version
    assert [(a.action_id, a.responsible_org, a.due_on) for a in read.actions] == [
        (action.action_id, "aarhus-boligsocial", day + timedelta(days=30))
    ]

    history = get_case_history.sync(case.id, client=client, purpose="opfølgning på aftalt indsats")
    assert isinstance(history, models.History), history
    assert history.id == case.id and history.version == action.version
    assert all(isinstance(entry, models.HistoryEntry) for entry in history.events)
    assert [entry.type_ for entry in history.events] == ["Referred", "Assessed", "ActionAgreed"]
    assert [entry.version for entry in history.events] == [1, 2, 3]
