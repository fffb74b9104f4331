"""Builders for the domain's aggregates, and the check that a refused command changed nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.case import Case
from domain.forum import Forum
from domain.values import Subject

E = TypeVar("E", bound=Exception)

ESTABLISHED = date(2026, 1, 5)
RECEIVED = date(2026, 3, 2)
CHAIR = "aarhus-kommune"
POLICE = "oestjyllands-politi"
CLUB = "klub-gellerup"


def day(n: int) -> date:
    """The n-th day after the referral (negative: before it)."""
    return RECEIVED + timedelta(days=n)


def a_forum(*members: str) -> Forum:
    forum = Forum.establish(
        name="Samarbejdsforum Gellerup",
        municipality="Aarhus",
        housing_areas=["Gellerupparken", "Toveshøj"],
        chair_org=CHAIR,
        established_on=ESTABLISHED,
    )
    for member in members:
        forum.join(member, ESTABLISHED)
    return forum


def a_case(forum_id: UUID | None = None) -> Case:
    return Case.refer(
        forum_id=forum_id or uuid4(),
        target_group="cross_over",
        referred_by=CHAIR,
        received_on=RECEIVED,
        legal_basis="retsplejeloven_115",
        concern="Shares extremist material in a closed chat group.",
        subject_id=uuid4(),
        subject=Subject(name="Ali Testesen"),
    )


def assess(case: Case, decision: str = "accept", on: date | None = None) -> None:
    case.assess(on or day(1), decision, "risk notes", "resilience notes", "judgement")


def an_active_case(forum_id: UUID | None = None) -> Case:
    case = a_case(forum_id)
    assess(case)
    return case


def agree(
    case: Case, *, on: date | None = None, due: date | None = None, meeting_id: UUID | None = None
) -> UUID:
    action_id = uuid4()
    case.agree_action(
        action_id=action_id,
        kind="mentor",
        description="Weekly mentor meetings",
        responsible_org=CLUB,
        due_on=due or day(30),
        agreed_on=on or day(2),
        meeting_id=meeting_id,
    )
    return action_id


def refused(aggregate: Aggregate, error: type[E], command: Callable[[], object]) -> E:
    """Run a command the model must refuse; assert it raised `error` and changed nothing."""
    aggregate.collect_events()
    version = aggregate.version
    before = copy.deepcopy(vars(aggregate))
    with pytest.raises(error) as caught:
        command()
    assert aggregate.collect_events() == [], "a refused command left pending events"
    assert aggregate.version == version
    assert vars(aggregate) == before, "a refused command changed the aggregate's state"
    return caught.value


def replayed(aggregate: Aggregate) -> Aggregate:
    """The aggregate rebuilt from its own events (which are collected by this)."""
    rebuilt: Aggregate | None = None
    for event in aggregate.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt
