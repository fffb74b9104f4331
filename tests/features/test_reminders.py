"""Scenarios of features/reminders.feature, each on in-memory persistence and on PostgreSQL.

The application here runs on a clock the scenarios move ("When it is 2026-04-14", "When the
reminders are dispatched on 2026-04-16"): the dispatcher delivers what has fallen due by the
application's today, as the scheduler does. The horizons come from the environment, as in
production; a scenario that needs other horizons is bound below with its environment.

The steps shared with the other features live in `conftest.py`; the steps of follow-up are here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from pytest_bdd import given, parsers, scenario, scenarios, then, when

from application.accounts import Caller
from application.app import Forebyg
from application.bootstrap import build_application
from application.errors import PermissionDeniedError
from application.reminders.dispatch import Dispatcher, DispatchReport
from application.reminders.rules import Rule
from application.settings import Settings
from domain.values import Role
from tests.conftest import TODAY
from tests.features.conftest import TYPES, refer, typed

# --- the application on a clock the scenarios move --------------------------------------------


@dataclass
class MovableClock:
    """The application's today; starts at the suite's TODAY and moves when a scenario says so."""

    today: date = TODAY

    def __call__(self) -> date:
        return self.today


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def reminder_environ() -> dict[str, str]:
    """The FOREBYG_REMINDER_* environment the application is started with (none: the defaults)."""
    return {}


@pytest.fixture
def app(
    persistence: str, request: pytest.FixtureRequest, clock: MovableClock, reminder_environ: dict[str, str]
) -> Iterator[Forebyg]:
    """The application on in-memory persistence, and again on PostgreSQL, on a movable clock."""
    policy = Settings.from_environ(reminder_environ).reminders
    if persistence == "memory":
        application = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock, policy=policy)
    else:
        settings = request.getfixturevalue("postgres_settings")
        application = build_application(replace(settings, reminders=policy), clock=clock)
    yield application
    application.close()


@pytest.fixture
def dispatcher(app: Forebyg) -> Dispatcher:
    return Dispatcher(app)


@pytest.mark.parametrize(
    "reminder_environ", [{"FOREBYG_REMINDER_DUE_SOON_DAYS": "7"}], ids=["DUE_SOON_DAYS=7"]
)
@scenario("reminders.feature", "With 7 days' notice configured, an action is due soon a week ahead (<today>)")
def test_configured_notice() -> None:
    """Bound here because the horizons are fixed when the application starts."""


pytestmark = pytest.mark.usefixtures("app")  # parametrises every scenario over both stores

scenarios("reminders.feature")


# --- the step language of follow-up -------------------------------------------------------------

ACTION_RULES = (
    Rule.ACTION_DUE_SOON,
    Rule.ACTION_OVERDUE,
    Rule.ACTION_OVERDUE_ESCALATED,
    Rule.INTERVENTION_STALLED,
)

# What a reminder says, in the forum's words, and what it is about.
REMINDERS: dict[str, tuple[Rule, str]] = {
    "the action is due soon": (Rule.ACTION_DUE_SOON, "the action"),
    "the action is overdue": (Rule.ACTION_OVERDUE, "the action"),
    "the action is still overdue": (Rule.ACTION_OVERDUE_ESCALATED, "the action"),
    "the action has stalled": (Rule.INTERVENTION_STALLED, "the action"),
    "the referral has not been assessed": (Rule.REFERRAL_NOT_ASSESSED, "the case"),
    "the accepted case has not been discussed": (Rule.ACCEPTED_NOT_DISCUSSED, "the case"),
    "a review of the case is due": (Rule.REVIEW_DUE, "the case"),
    "a post-closure review of the case is due": (Rule.POST_CLOSURE_REVIEW_DUE, "the case"),
    "the forum has not met for 8 weeks": (Rule.FORUM_WITHOUT_MEETING, "the forum"),
}

# The things a reminder can be about, and the fixture that holds each.
ABOUT = {
    "the forum": "forum",
    "the other forum": "other_forum",
    "the case": "case",
    "the second case": "second_case",
    "the third case": "third_case",
    "the other forum's case": "other_case",
    "the action": "action",
}


def alternatives(phrases: list[str]) -> str:
    """A pattern matching any of the phrases, the longest first."""
    return "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))


FOLLOW_UP_TYPES: dict[str, Callable[[str], Any]] = {
    **TYPES,
    "Reminder": typed(alternatives(list(REMINDERS)), REMINDERS.__getitem__),
    "Verdict": typed(r"is reminded|is not reminded", lambda text: text == "is reminded"),
    "Setting": typed(r"FOREBYG_REMINDER_[A-Z_]+", str),
}


def step(text: str) -> parsers.parse:
    return parsers.parse(text, extra_types=FOLLOW_UP_TYPES)


def member_of(org: str, role: Role = Role.MEMBER) -> Caller:
    return Caller(user_id=uuid4(), username=f"bruger-{org}", org=org, role=role)


def inbox(app: Forebyg, org: str) -> list[dict[str, Any]]:
    """The in-app inbox of an organisation, as a member of it sees it (newest first)."""
    items = app.list_inbox(caller=member_of(org))
    for item in items:
        assert item["recipient_org"] == org, f"{org}'s inbox shows {item}"
        assert item["channel"] == "inbox", f"delivered by {item['channel']} though no mailer is configured"
    return items


def known(request: pytest.FixtureRequest) -> dict[str, str]:
    """The ids of the forums, cases and action of the scenario so far, by what they are called."""
    names = {}
    for phrase, fixture in ABOUT.items():
        try:
            names[str(request.getfixturevalue(fixture))] = phrase
        except pytest.FixtureLookupError:
            continue
    return names


def about(request: pytest.FixtureRequest, row: dict[str, Any]) -> str:
    """What a reminder row is about, in the scenario's words (an action, a case or a forum)."""
    names = known(request)
    for column in ("action_id", "case_id", "forum_id"):
        if row.get(column):
            return names.get(str(row[column]), f"unknown {column} {row[column]}")
    raise AssertionError(f"a reminder about nothing: {row}")


def table(datatable: list[list[str]], header: list[str]) -> list[tuple[str, ...]]:
    first, *rows = datatable
    assert first == header, f"expected the columns {header}, got {first}"
    return [tuple(row) for row in rows]


# --- time and dispatch ----------------------------------------------------------------------------


@given(step("it is {today:Date}"))
@when(step("it is {today:Date}"))
def it_is(clock: MovableClock, today: date) -> None:
    clock.today = today


@when(step("the reminders are dispatched on {today:Date}"), target_fixture="dispatched")
@when(step("the reminders are dispatched again on {today:Date}"), target_fixture="dispatched")
def dispatched_on(clock: MovableClock, dispatcher: Dispatcher, today: date) -> DispatchReport:
    """The scheduler's tick on that day: it delivers what has fallen due by the application's today."""
    clock.today = today
    return dispatcher.dispatch()


@when(step("the scheduler is restarted"), target_fixture="dispatcher")
def scheduler_restarted(
    app: Forebyg,
    persistence: str,
    request: pytest.FixtureRequest,
    clock: MovableClock,
    reminder_environ: dict[str, str],
) -> Dispatcher:
    """A new scheduler process: on PostgreSQL a second application on the same database, with
    cold caches and its own projector; in memory (nothing outlives the process) a new dispatcher."""
    if persistence == "memory":
        return Dispatcher(app)
    settings = request.getfixturevalue("postgres_settings")
    policy = Settings.from_environ(reminder_environ).reminders
    restarted = build_application(replace(settings, reminders=policy), clock=clock)
    request.addfinalizer(restarted.close)
    return Dispatcher(restarted)


@when(step("the read models are rebuilt from the log"))
def read_models_rebuilt(app: Forebyg) -> None:
    app.workflow.rebuild()


@then(step("{count:Count} reminder is delivered"))
@then(step("{count:Count} reminders are delivered"))
def delivered(dispatched: DispatchReport, count: int) -> None:
    assert len(dispatched.delivered) == count, f"delivered {dispatched.delivered}"
    assert len(set(dispatched.delivered)) == count, f"delivered a reminder twice: {dispatched.delivered}"


@then(step("nothing more is delivered"))
def nothing_more_delivered(dispatched: DispatchReport) -> None:
    assert dispatched.delivered == [], f"delivered again: {dispatched.delivered}"
    assert dispatched.emailed == 0


# --- configuration ----------------------------------------------------------------------------------


@given(step("the reminders are configured with {setting:Setting}={days:Count}"))
def configured(app: Forebyg, setting: str, days: int) -> None:
    expected = Settings.from_environ({setting: str(days)}).reminders
    assert app.policy == expected, (
        f"the application was started with {app.policy}; a scenario that configures {setting} "
        "must be bound in tests/features/test_reminders.py with that environment"
    )


# --- more referrals ---------------------------------------------------------------------------------


@given(
    step(
        'a third {group:Word} concern about "{name:Text}" was referred by {org:Slug} '
        "on {on:Date} under {basis:Word}"
    ),
    target_fixture="third_case",
)
def a_third_concern(app: Forebyg, forum: UUID, group: str, name: str, org: str, on: date, basis: str) -> UUID:
    return refer(app, forum, group, name, org, on, basis)


# --- the inbox --------------------------------------------------------------------------------------


@then(step("{org:Slug} {reminded:Verdict} that {what:Reminder}"))
def reminded_that(
    app: Forebyg,
    request: pytest.FixtureRequest,
    clock: MovableClock,
    org: str,
    reminded: bool,
    what: tuple[Rule, str],
) -> None:
    rule, subject = what
    items = [item for item in inbox(app, org) if item["rule"] == rule.value]
    if not reminded:
        assert items == [], f"{org} was reminded ({rule.value}): {items}"
        return
    assert len(items) == 1, f"{org} holds {len(items)} {rule.value} reminders: {items}"
    item = items[0]
    assert about(request, item) == subject, f"the reminder is about {about(request, item)}: {item}"
    forum = request.getfixturevalue("forum")
    assert item["forum_id"] == str(forum)
    if rule is Rule.FORUM_WITHOUT_MEETING:
        assert item["case_id"] is None and item["action_id"] is None, item
    elif rule in ACTION_RULES:
        assert item["case_id"] == str(request.getfixturevalue("case")), item
    assert date.fromisoformat(item["sent_on"]) <= clock.today, f"sent in the future: {item}"


@then(step("the inbox of {org:Slug} is empty"))
def inbox_empty(app: Forebyg, org: str) -> None:
    assert inbox(app, org) == []


INBOX_HEADER = ["reminder", "about", "concerning", "sent on"]


def inbox_rows(request: pytest.FixtureRequest, items: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(i["rule"], about(request, i), i["due_on"], i["sent_on"]) for i in items]


@then(step("the inbox of {org:Slug} holds:"))
def inbox_holds(app: Forebyg, request: pytest.FixtureRequest, org: str, datatable: list[list[str]]) -> None:
    assert inbox_rows(request, inbox(app, org)) == table(datatable, INBOX_HEADER)


@then(step("the inbox of {org:Slug} holds these reminders about the forum:"))
def inbox_holds_about_forum(
    app: Forebyg, request: pytest.FixtureRequest, org: str, datatable: list[list[str]]
) -> None:
    items = [i for i in inbox(app, org) if i["case_id"] is None]
    assert inbox_rows(request, items) == table(datatable, INBOX_HEADER)


# --- what is recorded ----------------------------------------------------------------------------


@then(step("the forum's record holds {count:Count} sent reminders"))
def forum_record(app: Forebyg, forum: UUID, count: int) -> None:
    sent = [event for event in app.events.get(forum) if type(event).__name__ == "ReminderSent"]
    assert len(sent) == count, f"the forum recorded {len(sent)} ReminderSent events"
    assert app.get_forum(forum)["version"] == len(list(app.events.get(forum)))


@then(
    step(
        "the case's history records the {rule:Word} reminder about the action due {due:Date}, "
        "sent to {org:Slug}'s inbox on {on:Date}"
    )
)
def history_records_reminder(
    app: Forebyg, case: UUID, action: UUID, rule: str, due: date, org: str, on: date
) -> None:
    entries = [e for e in app.get_case_history(case) if e["type"] == "ReminderSent"]
    assert len(entries) == 1, f"the history holds {len(entries)} ReminderSent entries"
    data = entries[0]["data"]
    assert (data["rule"], data["action_id"], data["due_on"]) == (rule, str(action), due.isoformat()), data
    assert (data["recipient_org"], data["channel"], data["sent_on"]) == (org, "inbox", on.isoformat()), data
    assert data["key"] == f"{rule}:{case}:{action}:{due.isoformat()}", data


# --- what the coordinator sees --------------------------------------------------------------------

REMINDERS_HEADER = ["reminder", "about", "for", "concerning", "due from", "sent"]


@then(step("the coordinator from {org:Slug} sees these reminders:"))
def coordinator_sees(
    app: Forebyg, request: pytest.FixtureRequest, org: str, datatable: list[list[str]]
) -> None:
    rows = app.list_reminders(caller=member_of(org, Role.COORDINATOR))
    seen = [
        (
            r["rule"],
            about(request, r),
            r["recipient_org"],
            r["due_on"],
            r["fire_on"],
            "yes" if r["sent"] else "no",
        )
        for r in rows
    ]
    assert seen == table(datatable, REMINDERS_HEADER)


@then(step("a member from {org:Slug} may not list the reminders"))
def member_may_not_list(app: Forebyg, org: str) -> None:
    with pytest.raises(PermissionDeniedError):
        app.list_reminders(caller=member_of(org))


AGENDA_ITEMS = {
    "new referral": "new_referrals",
    "overdue action": "overdue_actions",
    "review due": "reviews_due",
    "case to discuss": "cases_to_discuss",
}


def agenda(app: Forebyg, forum: UUID, org: str = "aarhus-kommune") -> dict[str, Any]:
    return app.get_agenda(forum, caller=member_of(org, Role.COORDINATOR))


@then(step("the agenda of the forum's meeting on {on:Date} lists:"))
def agenda_lists(
    app: Forebyg,
    request: pytest.FixtureRequest,
    clock: MovableClock,
    forum: UUID,
    on: date,
    datatable: list[list[str]],
) -> None:
    found = agenda(app, forum)
    assert (found["as_of"], found["next_meeting_on"]) == (clock.today.isoformat(), on.isoformat())
    listed = [
        (item, about(request, {"action_id": row.get("action_id"), "case_id": row.get("id")}))
        for item, section in AGENDA_ITEMS.items()
        for row in found[section]
    ]
    assert listed == table(datatable, ["item", "about"])


@then(step("the agenda names no person"))
def agenda_names_no_person(app: Forebyg, request: pytest.FixtureRequest, forum: UUID) -> None:
    text = repr(agenda(app, forum))
    for case_id, phrase in known(request).items():
        if "case" not in phrase:
            continue
        case = app.get_case(UUID(case_id), include_personal=True)
        for personal in (case["subject"]["name"], case["subject_id"], case["concern"]):
            assert personal not in text, f"the agenda shows {personal!r} of {phrase}"
