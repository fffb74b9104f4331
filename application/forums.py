"""Forum commands: establishing forums, membership, meetings and area mapping."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

from application import access
from application.accounts import Caller, Organisation, org_id
from application.base import ForebygBase
from application.receipts import Idempotency, Recorded
from domain.errors import InvalidValueError
from domain.forum import Forum
from domain.values import Role

COORDINATOR = Role.COORDINATOR


class ForumCommands(ForebygBase):
    def _check_registered(self, slugs: Sequence[object], field: str) -> None:
        for slug in slugs:
            if not isinstance(slug, str) or org_id(slug) not in self.repository:
                raise InvalidValueError(field, f"{slug!r} is not a registered organisation")
            if not isinstance(self.repository.get(org_id(slug)), Organisation):
                raise InvalidValueError(field, f"{slug!r} is not a registered organisation")

    def _forum_for(
        self,
        forum_id: UUID,
        expected_version: int | None,
        caller: Caller | None,
        chair_only: str | None = None,
    ) -> Forum:
        forum = self._forum(forum_id)
        access.check_forum(caller, forum, COORDINATOR)
        if chair_only is not None:
            access.check_chair(caller, forum, chair_only)
        self._check_version(forum, expected_version)
        return forum

    def establish_forum(
        self,
        *,
        name: object,
        municipality: object,
        housing_areas: object,
        chair_org: object = None,
        members: Sequence[object] = (),
        established_on: object | None = None,
        forum_id: UUID | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """Establish a forum. A caller's own organisation chairs it; members must be
        registered organisations when a person (not the system) establishes it."""
        if caller is not None:
            access.check_role(caller, COORDINATOR)
            chair_org = caller.org
            if not isinstance(members, (list, tuple)):
                raise InvalidValueError("members", "a list of organisation slugs is required")
            self._check_registered(list(members), "members")
        on = self._happened_on(established_on, "established_on")
        forum = Forum.establish(
            name=name,
            municipality=municipality,
            housing_areas=housing_areas,
            chair_org=chair_org,
            established_on=on,
            forum_id=forum_id,
        )
        for member in members:
            if member != forum.chair_org:
                forum.join(member, on)
        return self._save(forum, idempotency=idempotency)

    def add_member(
        self,
        forum_id: UUID,
        org: object,
        joined_on: object = None,
        *,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        forum = self._forum_for(forum_id, expected_version, caller, "change its membership")
        if caller is not None:
            self._check_registered([org], "org")
        forum.join(org, self._happened_on(joined_on, "joined_on"))
        return self._save(forum, idempotency=idempotency)

    def remove_member(
        self,
        forum_id: UUID,
        org: object,
        left_on: object = None,
        *,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        forum = self._forum_for(forum_id, expected_version, caller, "change its membership")
        forum.leave(org, self._happened_on(left_on, "left_on"))
        return self._save(forum, idempotency=idempotency)

    def schedule_meeting(
        self,
        forum_id: UUID,
        planned_on: object,
        *,
        meeting_id: UUID | None = None,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        forum = self._forum_for(forum_id, expected_version, caller)
        new_id = meeting_id or uuid4()
        forum.schedule_meeting(new_id, planned_on)
        return self._save(forum, idempotency=idempotency, meeting_id=new_id)

    def hold_meeting(
        self,
        forum_id: UUID,
        meeting_id: UUID,
        *,
        held_on: object,
        attendees: object,
        discussed_cases: Sequence[UUID] = (),
        summary: object = "",
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """Record the meeting and a discussion on every case discussed, in one transaction."""
        forum = self._forum_for(forum_id, expected_version, caller)
        on = self._past(held_on, "held_on")
        cases = [self._case(case_id) for case_id in discussed_cases]
        for case in cases:
            if case.forum_id != forum.id:
                access.check_case(caller, case, self._forum(case.forum_id))
        forum.hold_meeting(meeting_id, on, attendees, list(discussed_cases), summary)
        for case in cases:
            case.discuss(forum.id, meeting_id, on)
        return self._save(forum, *cases, idempotency=idempotency, meeting_id=meeting_id)

    def cancel_meeting(
        self,
        forum_id: UUID,
        meeting_id: UUID,
        reason: object = "",
        *,
        cancelled_on: object = None,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """Cancel a scheduled meeting, on the day given or today."""
        forum = self._forum_for(forum_id, expected_version, caller)
        forum.cancel_meeting(meeting_id, reason, self._happened_on(cancelled_on, "cancelled_on"))
        return self._save(forum, idempotency=idempotency, meeting_id=meeting_id)

    def record_area_mapping(
        self,
        forum_id: UUID,
        *,
        recorded_on: object,
        housing_area: object,
        resources: object,
        challenges: object,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        forum = self._forum_for(forum_id, expected_version, caller)
        forum.record_area_mapping(self._past(recorded_on, "recorded_on"), housing_area, resources, challenges)
        return self._save(forum, idempotency=idempotency)

    def dissolve_forum(
        self,
        forum_id: UUID,
        dissolved_on: object,
        reason: object,
        *,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        forum = self._forum_for(forum_id, expected_version, caller, "dissolve it")
        forum.dissolve(self._past(dissolved_on, "dissolved_on"), reason)
        return self._save(forum, idempotency=idempotency)
