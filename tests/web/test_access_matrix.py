"""Need-to-know, endpoint by endpoint: every operation of the API registry, by every role, by
the caller's own forum and another forum, as application/access.py lays it down.

A case or forum of a forum the caller's organisation is not a member of does not exist for a
coordinator, member or administrator (404); evaluators and the DPO read workflow data across
forums but may run no command (403); only coordinators run the workflow, except that a member
completes an action its own organisation owns. Personal data reaches coordinators and members
only, and only with a stated purpose; evaluators get no subject id either. No refusal records
anything, and no refusal carries the case's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from werkzeug.test import TestResponse

from interfaces.web.api import Operation
from tests.web import endpoints
from tests.web.support import (
    ORG_A,
    PASSWORD,
    ROLES,
    USERS,
    Call,
    Side,
    World,
    leaks,
    personal_keys_in_case,
    personal_keys_in_history,
    problem,
    registered_operations,
)

PURPOSE = {"purpose": "forberedelse af møde i samarbejdsforum"}
SIDES = ("own", "other")
Check = Callable[[World, Side, str, TestResponse], None]

# Expected status per role on (the own forum, the other forum).
READ = {
    "coordinator": (200, 404),
    "member": (200, 404),
    "evaluator": (200, 200),
    "dpo": (200, 200),
    "admin": (404, 404),
}


def command(ok: int) -> dict[str, tuple[int, int]]:
    return {
        "coordinator": (ok, 404),
        "member": (403, 404),
        "evaluator": (403, 403),
        "dpo": (403, 403),
        "admin": (404, 404),
    }


def everyone(status: int) -> dict[str, tuple[int, int]]:
    return {role: (status, status) for role in ROLES}


def only(*roles: str, ok: int = 200) -> dict[str, tuple[int, int]]:
    """Allowed to these roles whichever forum; refused (403) to every other role."""
    return {role: (ok, ok) if role in roles else (403, 403) for role in ROLES}


@dataclass(frozen=True)
class Cell:
    role: str
    side: str
    call: Callable[[Side], Call]
    status: int
    entry: Entry
    label: str = ""


@dataclass(frozen=True)
class Entry:
    """One operation's row of the matrix: the status per role on (own, other) forum, the
    request, what a success must (not) contain, and what a refusal must leave as it was
    besides the event store (``kept``)."""

    expect: dict[str, tuple[int, int]]
    call: Callable[[Side, str], Call]
    check: Check | None = None
    public: bool = False
    fresh_session: bool = False
    kept: Callable[[World, Side], object] | None = None
    extra: tuple[tuple[str, str, Callable[[Side], Call], int, str], ...] = ()

    def cells(self) -> list[Cell]:
        grid = [
            Cell(
                role,
                which,
                (lambda side, role=role: self.call(side, role)),  # type: ignore[misc]
                self.expect[role][SIDES.index(which)],
                self,
            )
            for role in ROLES
            for which in SIDES
        ]
        grid += [
            Cell(role, which, call, status, self, label) for role, which, call, status, label in self.extra
        ]
        # Refusals first: they must change nothing, so the successes still find the world as built.
        return sorted(grid, key=lambda cell: cell.status < 400)


# --- what a successful read must (not) contain ----------------------------------------------


def _sees_personal(role: str) -> bool:
    return role in ("coordinator", "member")


def check_case(world: World, side: Side, role: str, answer: TestResponse) -> None:
    view = answer.get_json()
    assert view["id"] == str(side.closed_case)
    assert answer.headers["ETag"] == f'"{view["version"]}"'
    if _sees_personal(role):
        assert set(personal_keys_in_case(view)) >= {"subject", "concern", "assessment", "closure_summary"}
        assert view["subject"]["name"] == side.subject_names[2]
    else:
        assert personal_keys_in_case(view) == []
        assert leaks(answer, world.own, world.other) == []
    if role == "evaluator":
        assert "subject_id" not in view
        assert str(side.subject_ids[2]) not in answer.get_data(as_text=True)


def check_history(world: World, side: Side, role: str, answer: TestResponse) -> None:
    body = answer.get_json()
    events = body["events"]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert answer.headers["ETag"] == f'"{len(events)}"'
    if _sees_personal(role):
        assert personal_keys_in_history(events)
    else:
        assert personal_keys_in_history(events) == []
        assert leaks(answer, world.own, world.other) == []
    if role == "evaluator":
        assert all("subject_id" not in e["data"] for e in events)
        assert str(side.subject_ids[2]) not in answer.get_data(as_text=True)


def check_forum(world: World, side: Side, role: str, answer: TestResponse) -> None:
    view = answer.get_json()
    assert view["id"] == str(side.forum)
    assert view["members"] == [side.chair, side.partner, side.third]
    assert leaks(answer, world.own, world.other) == []


def visible_forums(world: World, role: str) -> set[str]:
    if role in ("evaluator", "dpo"):
        return {str(world.own.forum), str(world.other.forum)}
    if role == "admin":
        return set()
    return {str(world.own.forum)}


def check_forum_list(world: World, side: Side, role: str, answer: TestResponse) -> None:
    assert {item["id"] for item in answer.get_json()["items"]} == visible_forums(world, role)
    assert leaks(answer, world.own, world.other) == []


def check_case_list(world: World, side: Side, role: str, answer: TestResponse) -> None:
    items = answer.get_json()["items"]
    expected = (
        {str(side.new_case), str(side.active_case), str(side.closed_case)}
        if str(side.forum) in visible_forums(world, role)
        else set()
    )
    assert {item["id"] for item in items} == expected
    assert all("subject_id" not in item for item in items)
    assert leaks(answer, world.own, world.other) == []


def check_agenda(world: World, side: Side, role: str, answer: TestResponse) -> None:
    assert answer.get_json()["forum_id"] == str(side.forum)
    assert leaks(answer, world.own, world.other) == []


def check_reminders(world: World, side: Side, role: str, answer: TestResponse) -> None:
    items = answer.get_json()["items"]
    assert {item["forum_id"] for item in items} <= visible_forums(world, role)
    assert leaks(answer, world.own, world.other) == []


def check_inbox(world: World, side: Side, role: str, answer: TestResponse) -> None:
    assert all(item["recipient_org"] == ORG_A for item in answer.get_json()["items"])
    assert leaks(answer, world.own, world.other) == []


def check_access_report(world: World, side: Side, role: str, answer: TestResponse) -> None:
    report = answer.get_json()
    assert report["subject_id"] == str(side.subject_ids[1])
    assert report["case_ids"] == [str(side.active_case)]
    assert leaks(answer, world.own, world.other) == []


def check_no_leak(world: World, side: Side, role: str, answer: TestResponse) -> None:
    assert leaks(answer, world.own, world.other) == []


def check_signed_out(world: World, side: Side, role: str, answer: TestResponse) -> None:
    assert answer.get_data() == b""


def check_account(world: World, side: Side, role: str, answer: TestResponse) -> None:
    view = answer.get_json()
    assert view["username"] == endpoints.account(side) and view["active"] is True
    assert answer.headers["ETag"] == f'"{view["version"]}"'


def check_account_ended(world: World, side: Side, role: str, answer: TestResponse) -> None:
    """The account's session that the world signed in is over."""
    token = world.token(endpoints.account(side))
    assert world.client.get("/api/forums", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def account_signs_in(world: World, side: Side) -> object:
    """Whether the account's session is still good (a refusal must leave it so)."""
    token = world.token(endpoints.account(side))
    return world.client.get("/api/forums", headers={"Authorization": f"Bearer {token}"}).status_code


def subject_of_active_case(world: World, side: Side) -> object:
    """The active case's subject as the system reads it: erased only by the DPO."""
    return world.app.get_case(side.active_case, include_personal=True).get("subject")


def texts_of_forum(world: World, side: Side) -> object:
    """The forum's free texts as the system reads them: erased only by the DPO."""
    return world.app.get_forum(side.forum, include_personal=True)


def check_token(world: World, side: Side, role: str, answer: TestResponse) -> None:
    assert set(answer.get_json()) == {"token", "expires_at"}


# --- the matrix -----------------------------------------------------------------------------


def _command(name: str) -> Entry:
    spec = endpoints.BY_NAME[name]
    return Entry(command(spec.status), lambda side, role: spec.valid(side))


def _completion(side: Side, role: str) -> Call:
    # A member completes the action its own organisation (A, the own forum's chair) owns;
    # the coordinator another one, so both successes find an open action.
    action = side.chair_action if role == "member" else side.third_action
    return endpoints.complete(side, action=action)


MATRIX: dict[tuple[str, str], Entry] = {
    ("POST", "/api/tokens"): Entry(
        everyone(201),
        lambda side, role: Call("POST", "/api/tokens", {"username": USERS[role], "password": PASSWORD}),
        check_token,
        public=True,
    ),
    ("POST", "/api/forums"): Entry(only("coordinator", ok=201), lambda side, role: endpoints.establish(side)),
    ("GET", "/api/forums"): Entry(
        everyone(200), lambda side, role: Call("GET", "/api/forums"), check_forum_list
    ),
    ("GET", "/api/forums/<uuid:forum_id>"): Entry(
        READ, lambda side, role: Call("GET", f"/api/forums/{side.forum}"), check_forum
    ),
    ("POST", "/api/forums/<uuid:forum_id>/members"): _command("add_member"),
    ("DELETE", "/api/forums/<uuid:forum_id>/members/<string:org>"): _command("remove_member"),
    ("POST", "/api/forums/<uuid:forum_id>/meetings"): _command("schedule_meeting"),
    ("POST", "/api/forums/<uuid:forum_id>/meetings/<uuid:meeting_id>/held"): _command("hold_meeting"),
    ("POST", "/api/forums/<uuid:forum_id>/meetings/<uuid:meeting_id>/cancellation"): _command(
        "cancel_meeting"
    ),
    ("POST", "/api/forums/<uuid:forum_id>/area-mappings"): _command("record_area_mapping"),
    ("POST", "/api/cases"): _command("refer_case"),
    ("GET", "/api/cases"): Entry(
        everyone(200),
        lambda side, role: Call("GET", "/api/cases", query={"forum": str(side.forum)}),
        check_case_list,
    ),
    ("GET", "/api/cases/<uuid:case_id>"): Entry(
        READ, lambda side, role: Call("GET", f"/api/cases/{side.closed_case}", query=PURPOSE), check_case
    ),
    ("GET", "/api/cases/<uuid:case_id>/history"): Entry(
        READ,
        lambda side, role: Call("GET", f"/api/cases/{side.closed_case}/history", query=PURPOSE),
        check_history,
    ),
    ("POST", "/api/cases/<uuid:case_id>/assessment"): _command("assess_case"),
    ("POST", "/api/cases/<uuid:case_id>/actions"): _command("agree_action"),
    ("POST", "/api/cases/<uuid:case_id>/actions/<uuid:action_id>/rescheduling"): _command(
        "reschedule_action"
    ),
    ("POST", "/api/cases/<uuid:case_id>/actions/<uuid:action_id>/completion"): Entry(
        {**command(200), "member": (200, 404)},
        _completion,
        extra=(
            (
                "member",
                "own",
                lambda side: endpoints.complete(side, action=side.partner_action),
                403,
                "an action another organisation owns",
            ),
        ),
    ),
    ("POST", "/api/cases/<uuid:case_id>/actions/<uuid:action_id>/cancellation"): _command("cancel_action"),
    ("POST", "/api/cases/<uuid:case_id>/review-schedule"): _command("schedule_review"),
    ("POST", "/api/cases/<uuid:case_id>/reviews"): _command("record_review"),
    ("POST", "/api/cases/<uuid:case_id>/closure"): _command("close_case"),
    ("POST", "/api/cases/<uuid:case_id>/reopening"): _command("reopen_case"),
    ("GET", "/api/forums/<uuid:forum_id>/agenda"): Entry(
        READ, lambda side, role: Call("GET", f"/api/forums/{side.forum}/agenda"), check_agenda
    ),
    ("GET", "/api/reminders"): Entry(
        only("coordinator"), lambda side, role: Call("GET", "/api/reminders"), check_reminders
    ),
    ("GET", "/api/inbox"): Entry(
        only("coordinator", "member"), lambda side, role: Call("GET", "/api/inbox"), check_inbox
    ),
    ("POST", "/api/subjects/<uuid:subject_id>/erasure"): Entry(
        only("dpo"), lambda side, role: endpoints.erase(side), kept=subject_of_active_case
    ),
    ("POST", "/api/forums/<uuid:forum_id>/text-erasure"): Entry(
        only("dpo"),
        lambda side, role: Call(
            "POST",
            f"/api/forums/{side.forum}/text-erasure",
            {"reason": "Databeskyttelsesforordningen art. 17"},
        ),
        kept=texts_of_forum,
    ),
    ("GET", "/api/subjects/<uuid:subject_id>/access-report"): Entry(
        only("dpo"),
        lambda side, role: Call("GET", f"/api/subjects/{side.subject_ids[1]}/access-report"),
        check_access_report,
    ),
    ("GET", "/api/cases/<uuid:case_id>/access-log"): Entry(
        only("dpo"),
        lambda side, role: Call("GET", f"/api/cases/{side.closed_case}/access-log"),
        check_no_leak,
    ),
    ("GET", "/api/retention"): Entry(
        only("dpo"), lambda side, role: Call("GET", "/api/retention"), check_no_leak
    ),
    ("GET", "/api/users/<string:username>"): Entry(
        only("admin"),
        lambda side, role: endpoints.sample("GET", "/api/users/<string:username>", side),
        check_account,
    ),
    ("POST", "/api/users/<string:username>/deactivation"): Entry(
        only("admin"),
        lambda side, role: endpoints.sample("POST", "/api/users/<string:username>/deactivation", side),
        check_account_ended,
        kept=account_signs_in,
    ),
    ("POST", "/api/users/<string:username>/password-reset"): Entry(
        only("admin"),
        lambda side, role: endpoints.reset_password(side),
        check_account_ended,
        kept=account_signs_in,
    ),
    ("POST", "/api/users/<string:username>/sign-out"): Entry(
        only("admin"),
        lambda side, role: endpoints.sample("POST", "/api/users/<string:username>/sign-out", side),
        check_account_ended,
        kept=account_signs_in,
    ),
    ("DELETE", "/api/tokens/current"): Entry(
        everyone(204),
        lambda side, role: Call("DELETE", "/api/tokens/current"),
        check_signed_out,
        fresh_session=True,
    ),
}

OPERATIONS = registered_operations()
# Reads change nothing, so they share one world; every other operation gets a world of its own.
READS = [op for op in OPERATIONS if not op.command and not op.public]
OTHERS = [op for op in OPERATIONS if op.command or op.public]


def _id(operation: Operation) -> str:
    return f"{operation.method} {operation.path}"


def hidden_from_outsiders(side: Side, call: Call) -> list[str]:
    """What a 404 must not reveal about the forum's cases (ids the caller sent excepted)."""
    secrets = [*side.secrets, side.forum_name, *(str(s) for s in side.subject_ids)]
    secrets += [str(i) for i in (side.forum, side.new_case, side.active_case, side.closed_case)]
    return [s for s in secrets if s not in call.path and s not in str(call.body or "")]


def run(world: World, cell: Cell) -> None:
    side, entry = world.side(cell.side), cell.entry
    call = cell.call(side)
    headers, username = {}, None if entry.public else USERS[cell.role]
    if entry.fresh_session:
        headers["Authorization"] = f"Bearer {world.sign_in(USERS[cell.role])}"
    before = world.position(), entry.kept(world, side) if entry.kept else None
    answer = world.send(call, username, headers)
    if answer.status_code >= 400 or cell.status >= 400:
        body = problem(answer, cell.status)
        after = world.position(), entry.kept(world, side) if entry.kept else None
        assert after == before, "a refused request changed something"
        text = answer.get_data(as_text=True)
        revealed = [s for s in hidden_from_outsiders(side, call) if s in text]
        assert revealed == [], f"the refusal reveals {revealed}: {body}"
        assert leaks(answer, world.own, world.other) == []
        return
    assert answer.status_code == cell.status, answer.get_data(as_text=True)[:300]
    if cell.status != 204:
        assert answer.mimetype == "application/json"
    if entry.check is not None:
        entry.check(world, side, cell.role, answer)
    if entry.fresh_session:
        problem(world.send(Call("GET", "/api/forums"), None, headers), 401)


def check_operation(world: World, operation: Operation, subtests: pytest.Subtests) -> None:
    entry = MATRIX.get((operation.method, operation.path))
    with subtests.test(msg=f"{_id(operation)} has an entry in the access matrix"):
        assert entry is not None, f"add {_id(operation)} to the access matrix"
    if entry is None:
        return
    for cell in entry.cells():
        where = f"{cell.label} ({cell.side} forum)" if cell.label else f"{cell.side} forum"
        with subtests.test(msg=f"{_id(operation)}: {cell.role} on the {where}", expected=cell.status):
            run(world, cell)


def test_every_operation_in_the_registry_has_a_matrix_entry_and_no_entry_is_stale() -> None:
    registered = {(op.method, op.path) for op in OPERATIONS}
    assert sorted(registered - set(MATRIX)) == [], "operations without an access-matrix entry"
    assert sorted(set(MATRIX) - registered) == [], "matrix entries for operations that no longer exist"


def test_read_access_by_role_and_forum_membership(world: World, subtests: pytest.Subtests) -> None:
    assert READS
    for operation in READS:
        check_operation(world, operation, subtests)


@pytest.mark.parametrize("operation", OTHERS, ids=_id)
def test_access_by_role_and_forum_membership(
    world: World, operation: Operation, subtests: pytest.Subtests
) -> None:
    check_operation(world, operation, subtests)
