"""The Forum aggregate: one collaboration forum (samarbejdsforum)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    AlreadyAMemberError,
    ChairCannotLeaveError,
    ForumDissolvedError,
    InvalidValueError,
    MeetingAlreadyHeldError,
    MeetingCancelledError,
    MeetingNotFoundError,
    NotAMemberError,
)
from domain.reminded import Reminded
from domain.values import (
    Meeting,
    MeetingStatus,
    business_date,
    day_in_denmark,
    non_personal_text,
    not_before,
    org_slug,
    text,
)

# A forum's free texts are personal data until shown otherwise: whoever types them may name a
# person. They are sealed at rest like a case's personal fields, and the aggregate keeps none
# of them in its state (it needs none for its rules), so neither a snapshot nor a cached forum
# holds one: they are read from the events, with a purpose. They must not name people; one
# holding a CPR number is refused.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "MeetingHeld": frozenset({"summary"}),
    "MeetingCancelled": frozenset({"reason"}),
    "AreaMappingRecorded": frozenset({"resources", "challenges"}),
    "Dissolved": frozenset({"reason"}),
}


class Forum(Reminded, Aggregate):
    """A collaboration forum for one or more vulnerable housing areas.

    Invariants: the chair organisation is always a member and cannot leave; a meeting is
    held or cancelled once; only members attend; a dissolved forum takes no more work; no
    business date precedes the forum's establishment; an organisation leaves no earlier than
    it joined, and joins again no earlier than it left; a forum is dissolved no earlier than
    its latest recorded work. Its free texts (``PERSONAL_FIELDS``) are facts of its events
    only, never of its state.
    """

    # Version 2 keeps the day each organisation last joined or left (``membership_changed_on``);
    # a snapshot taken before has its members date from the establishment.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["membership_changed_on"] = dict.fromkeys(state["members"], state["established_on"])

    @classmethod
    def establish(
        cls,
        *,
        name: object,
        municipality: object,
        housing_areas: object,
        chair_org: object,
        established_on: object,
        forum_id: UUID | None = None,
    ) -> Forum:
        if not isinstance(housing_areas, (list, tuple)) or not housing_areas:
            raise InvalidValueError("housing_areas", "at least one housing area is required")
        areas = [non_personal_text(a, "housing_areas", limit=200) for a in housing_areas]
        if len(set(areas)) != len(areas):
            raise InvalidValueError("housing_areas", "housing areas must be distinct")
        return cls._create(
            cls.Established,  # type: ignore[attr-defined]
            id=forum_id,
            name=non_personal_text(name, "name", limit=200),
            municipality=non_personal_text(municipality, "municipality", limit=200),
            housing_areas=areas,
            chair_org=org_slug(chair_org, "chair_org"),
            established_on=business_date(established_on, "established_on"),
        )

    @event("Established")
    def __init__(
        self,
        name: str,
        municipality: str,
        housing_areas: list[str],
        chair_org: str,
        established_on: date,
    ) -> None:
        self.name = name
        self.municipality = municipality
        self.housing_areas = list(housing_areas)
        self.chair_org = chair_org
        self.established_on = established_on
        self.members: list[str] = [chair_org]
        self.membership_changed_on: dict[str, date] = {chair_org: established_on}
        self.meetings: dict[str, Meeting] = {}
        self.area_mappings: list[dict[str, Any]] = []
        self.dissolved_on: date | None = None
        self.reminders_sent: list[str] = []

    # --- guards -------------------------------------------------------------------

    def check_active(self) -> None:
        if self.dissolved_on is not None:
            raise ForumDissolvedError(f"forum {self.name!r} was dissolved")

    def check_is_member(self, org: str, field: str = "organisation") -> None:
        if org not in self.members:
            raise NotAMemberError(f"{field}: {org!r} is not a member of forum {self.name!r}")

    def check_date(self, on: object, field: str) -> date:
        checked = business_date(on, field)
        not_before(checked, self.established_on, field, "the forum's establishment")
        return checked

    def meeting(self, meeting_id: UUID) -> Meeting:
        try:
            return self.meetings[str(meeting_id)]
        except KeyError:
            raise MeetingNotFoundError(f"meeting {meeting_id} is not a meeting of this forum") from None

    def check_meeting_held(self, meeting_id: UUID) -> Meeting:
        found = self.meeting(meeting_id)
        if found.status is not MeetingStatus.HELD:
            raise MeetingNotFoundError(f"meeting {meeting_id} has not been held")
        return found

    def check_meeting_open(self, meeting_id: UUID) -> Meeting:
        found = self.meeting(meeting_id)
        if found.status is MeetingStatus.HELD:
            raise MeetingAlreadyHeldError(f"meeting {meeting_id} was already held on {found.held_on}")
        if found.status is MeetingStatus.CANCELLED:
            raise MeetingCancelledError(f"meeting {meeting_id} was cancelled")
        return found

    # --- membership ------------------------------------------------------------------

    def join(self, org: object, joined_on: object) -> None:
        self.check_active()
        slug = org_slug(org, "organisation")
        joined_on = self.check_date(joined_on, "joined_on")
        if slug in self.members:
            raise AlreadyAMemberError(f"{slug!r} is already a member of forum {self.name!r}")
        left_on = self.membership_changed_on.get(slug)
        if left_on is not None:
            not_before(joined_on, left_on, "joined_on", f"the day {slug} left the forum")
        self._member_joined(org=slug, joined_on=joined_on)

    @event("MemberJoined")
    def _member_joined(self, org: str, joined_on: date) -> None:
        self.members.append(org)
        self.membership_changed_on[org] = joined_on

    def leave(self, org: object, left_on: object) -> None:
        self.check_active()
        slug = org_slug(org, "organisation")
        left_on = self.check_date(left_on, "left_on")
        self.check_is_member(slug)
        if slug == self.chair_org:
            raise ChairCannotLeaveError(f"{slug!r} chairs forum {self.name!r} and cannot leave it")
        joined_on = self.membership_changed_on.get(slug)
        if joined_on is not None:
            not_before(left_on, joined_on, "left_on", f"the day {slug} joined the forum")
        self._member_left(org=slug, left_on=left_on)

    @event("MemberLeft")
    def _member_left(self, org: str, left_on: date) -> None:
        self.members.remove(org)
        self.membership_changed_on[org] = left_on

    # --- meetings --------------------------------------------------------------------

    def schedule_meeting(self, meeting_id: UUID, planned_on: object) -> None:
        self.check_active()
        planned_on = self.check_date(planned_on, "planned_on")
        if str(meeting_id) in self.meetings:
            raise InvalidValueError("meeting_id", "a meeting with this id already exists")
        self._meeting_scheduled(meeting_id=meeting_id, planned_on=planned_on)

    @event("MeetingScheduled")
    def _meeting_scheduled(self, meeting_id: UUID, planned_on: date) -> None:
        self.meetings[str(meeting_id)] = Meeting(meeting_id=meeting_id, planned_on=planned_on)

    def hold_meeting(
        self,
        meeting_id: UUID,
        held_on: object,
        attendees: object,
        discussed_cases: list[UUID],
        summary: object,
    ) -> None:
        """Record the meeting as held. The cases' own ``Discussed`` events are the
        application's to save in the same transaction."""
        self.check_active()
        self.check_meeting_open(meeting_id)
        held_on = self.check_date(held_on, "held_on")
        if not isinstance(attendees, (list, tuple)) or not attendees:
            raise InvalidValueError("attendees", "at least one attending organisation is required")
        orgs = [org_slug(a, "attendees") for a in attendees]
        for org in orgs:
            self.check_is_member(org, "attendees")
        if len(set(orgs)) != len(orgs):
            raise InvalidValueError("attendees", "each organisation attends once")
        if len(set(discussed_cases)) != len(discussed_cases):
            raise InvalidValueError("discussed_cases", "each case is listed once")
        self._meeting_held(
            meeting_id=meeting_id,
            held_on=held_on,
            attendees=orgs,
            discussed_cases=list(discussed_cases),
            summary=non_personal_text(summary, "summary", required=False, limit=2000),
        )

    @event("MeetingHeld")
    def _meeting_held(
        self,
        meeting_id: UUID,
        held_on: date,
        attendees: list[str],
        discussed_cases: list[UUID],
        summary: str,
    ) -> None:
        key = str(meeting_id)
        self.meetings[key] = replace(
            self.meetings[key],
            status=MeetingStatus.HELD,
            held_on=held_on,
            attendees=tuple(attendees),
            discussed_cases=tuple(discussed_cases),
        )

    def cancel_meeting(self, meeting_id: UUID, reason: object, cancelled_on: object) -> None:
        self.check_active()
        self.check_meeting_open(meeting_id)
        cancelled_on = self.check_date(cancelled_on, "cancelled_on")
        self._meeting_cancelled(
            meeting_id=meeting_id,
            reason=non_personal_text(reason, "reason", required=False, limit=500),
            cancelled_on=cancelled_on,
        )

    class MeetingCancelled(Aggregate.Event):
        """Version 2 dates the cancellation (``cancelled_on``); one recorded before is dated
        the day it was recorded, in Denmark."""

        meeting_id: UUID
        reason: str
        cancelled_on: date
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["cancelled_on"] = day_in_denmark(state["timestamp"])

    @event(MeetingCancelled)
    def _meeting_cancelled(self, meeting_id: UUID, reason: str, cancelled_on: date) -> None:
        key = str(meeting_id)
        self.meetings[key] = replace(
            self.meetings[key], status=MeetingStatus.CANCELLED, cancelled_on=cancelled_on
        )

    # --- area mapping and dissolution ------------------------------------------------------

    def record_area_mapping(
        self, recorded_on: object, housing_area: object, resources: object, challenges: object
    ) -> None:
        """Model part 2: aggregated resources and challenges of an area, which must not name
        people (the texts are sealed all the same)."""
        self.check_active()
        recorded_on = self.check_date(recorded_on, "recorded_on")
        area = text(housing_area, "housing_area", limit=200)
        if area not in self.housing_areas:
            raise InvalidValueError("housing_area", f"{area!r} is not one of this forum's areas")
        self._area_mapping_recorded(
            recorded_on=recorded_on,
            housing_area=area,
            resources=non_personal_text(resources, "resources", limit=4000),
            challenges=non_personal_text(challenges, "challenges", limit=4000),
        )

    @event("AreaMappingRecorded")
    def _area_mapping_recorded(
        self, recorded_on: date, housing_area: str, resources: str, challenges: str
    ) -> None:
        self.area_mappings.append({"recorded_on": recorded_on, "housing_area": housing_area})

    def dissolve(self, dissolved_on: object, reason: object) -> None:
        self.check_active()
        dissolved_on = self.check_date(dissolved_on, "dissolved_on")
        not_before(dissolved_on, self.latest_work_on, "dissolved_on", "the forum's latest recorded work")
        self._dissolved(dissolved_on=dissolved_on, reason=non_personal_text(reason, "reason", limit=500))

    @event("Dissolved")
    def _dissolved(self, dissolved_on: date, reason: str) -> None:
        self.dissolved_on = dissolved_on

    @event("ReminderSent")
    def _reminder_sent(
        self,
        key: str,
        rule: str,
        channel: str,
        recipient_org: str,
        sent_on: date,
        due_on: date,
        action_id: UUID | None,
    ) -> None:
        self.reminders_sent.append(key)

    @property
    def latest_work_on(self) -> date:
        """The latest business date of the forum's own facts (a meeting's planned date is a
        plan, not work done)."""
        days = [self.established_on, *self.membership_changed_on.values()]
        for meeting in self.meetings.values():
            done = meeting.held_on or meeting.cancelled_on
            if done is not None:
                days.append(done)
        days += [mapping["recorded_on"] for mapping in self.area_mappings]
        return max(days)

    @property
    def last_meeting_held_on(self) -> date | None:
        return max((m.held_on for m in self.meetings.values() if m.held_on is not None), default=None)
