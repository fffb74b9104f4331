"""A store written before forum facts were dated keeps working: a Forum snapshot without the
membership dates (version 1) loads, its members dating from the establishment, and the rules
that need those dates hold from there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from application.app import Forebyg
from domain.errors import DateOrderError
from domain.forum import Forum
from tests.conftest import TODAY

ESTABLISHED = TODAY - timedelta(days=60)
POLICE = "oestjyllands-politi"


@pytest.fixture
def forum_with_an_old_snapshot(app: Forebyg, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forum]:
    recorded = app.establish_forum(
        name="Samarbejdsforum fra før",
        municipality="Aarhus",
        housing_areas=["Gellerupparken"],
        chair_org="aarhus-kommune",
        members=[POLICE],
        established_on=ESTABLISHED,
    )
    forum = app.repository.get(recorded.id)
    del vars(forum)["membership_changed_on"]  # as the state was before it was kept
    with monkeypatch.context() as old:
        old.setattr(Forum, "class_version", 1)
        snapshot = Forum.Snapshot.take(forum)
    assert "class_version" not in snapshot.state
    assert app.snapshots is not None
    app.snapshots.put([snapshot])
    yield app.repository.get(recorded.id)


def test_a_forum_snapshot_from_before_membership_was_dated_loads(forum_with_an_old_snapshot: Forum) -> None:
    forum = forum_with_an_old_snapshot
    assert forum.membership_changed_on == {"aarhus-kommune": ESTABLISHED, POLICE: ESTABLISHED}


def test_its_members_leave_no_earlier_than_the_establishment_and_then_as_dated(
    app: Forebyg, forum_with_an_old_snapshot: Forum
) -> None:
    forum_id = forum_with_an_old_snapshot.id
    with pytest.raises(DateOrderError):
        app.remove_member(forum_id, POLICE, ESTABLISHED - timedelta(days=1))
    app.remove_member(forum_id, POLICE, TODAY - timedelta(days=10))
    with pytest.raises(DateOrderError) as refused:
        app.add_member(forum_id, POLICE, TODAY - timedelta(days=11))
    assert refused.value.field == "joined_on"
    app.add_member(forum_id, POLICE, TODAY - timedelta(days=10))
    assert app.get_forum(forum_id)["members"] == ["aarhus-kommune", POLICE]
    assert isinstance(app.repository.get(forum_id).membership_changed_on[POLICE], date)
