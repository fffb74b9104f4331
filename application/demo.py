"""A deterministic synthetic municipality (no real people) for the demo, tests and benchmarks.

The same seed and "today" always give the same history. Commands run in business-date
order through the application, so every rule of the model is honoured on the way.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid5

from application.app import Forebyg
from domain.values import Subject

NAMESPACE = UUID("6f1c3c52-3f0e-4a7a-9d55-6b3f0c0de000")


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    name: str
    kind: str


@dataclass(frozen=True)
class DemoForum:
    name: str
    housing_areas: tuple[str, ...]
    chair: str
    members: tuple[str, ...]


ORGS = (
    DemoOrg("aarhus-kommune", "Aarhus Kommune, SSP og tovholder", "municipality"),
    DemoOrg("aarhus-boligsocial", "Helhedsplan Gellerup-Toveshøj", "housing_social"),
    DemoOrg("bispehaven-boligsocial", "Helhedsplan Bispehaven", "housing_social"),
    DemoOrg("oestjyllands-politi", "Østjyllands Politi, forebyggelse", "police"),
    DemoOrg("foreningen-broen", "Foreningen Broen (mentorkorps)", "civil_society"),
    DemoOrg("klub-gellerup", "Klub Gellerup", "civil_society"),
    DemoOrg("evaluering", "Evaluator team (CDE)", "other"),
)
DEMO_PASSWORD = "demo-password-2020"
USERS = (
    ("koordinator", "aarhus-kommune", "coordinator"),
    ("politi", "oestjyllands-politi", "member"),
    ("mentor", "foreningen-broen", "member"),
    ("boligsocial", "aarhus-boligsocial", "member"),
    ("evaluator", "evaluering", "evaluator"),
    ("dpo", "aarhus-kommune", "dpo"),
    ("admin", "aarhus-kommune", "admin"),
)
FORUMS = (
    DemoForum(
        "Samarbejdsforum Gellerup-Toveshøj",
        ("Gellerupparken", "Toveshøj"),
        "aarhus-kommune",
        ("aarhus-kommune", "aarhus-boligsocial", "oestjyllands-politi", "foreningen-broen", "klub-gellerup"),
    ),
    DemoForum(
        "Samarbejdsforum Bispehaven",
        ("Bispehaven",),
        "aarhus-kommune",
        ("aarhus-kommune", "bispehaven-boligsocial", "oestjyllands-politi", "foreningen-broen"),
    ),
)
FIRST = (
    "Ali",
    "Yusuf",
    "Omar",
    "Bilal",
    "Sara",
    "Amina",
    "Mikkel",
    "Jonas",
    "Hamza",
    "Leila",
    "Ibrahim",
    "Nadia",
    "Emil",
    "Zakaria",
    "Mariam",
    "Adam",
    "Karim",
    "Noor",
    "Mathias",
    "Samir",
)
LAST = ("Testesen", "Fiktivsen", "Demoud", "Eksempel", "Prøvehansen", "Opdigtet", "Syntetisk", "Modelsen")
CONCERNS = {
    "cross_over": (
        "Known from the gang environment; has begun sharing extremist material in a closed chat group.",
        "Club staff report he now talks of 'real fighters' and has stopped coming to training.",
        "Police concern: seen with persons from an extremist milieu after a gang conflict.",
        "School reports absence and new contacts recruiting in the area around the shopping centre.",
    ),
    "younger_sibling": (
        "Younger sibling of a person convicted of terror offences; mother asks for help.",
        "Older brother left for a conflict zone; the boy idolises him on social media.",
        "Sister of a radicalised person; teachers notice withdrawal and new rhetoric.",
        "Family network under pressure after an older sibling's conviction; early prevention.",
    ),
}
ACTIONS = (
    ("mentor", "Mentor from the mentor corps, weekly meetings"),
    ("family_dialogue", "Family dialogue meeting with parents"),
    ("leisure_or_job", "Leisure-time job through the housing-social team"),
    ("exit_programme", "Referral to the exit programme"),
    ("concern_conversation", "Police concern conversation with parents present"),
    ("statutory_measure", "Assessment of support under the Social Services Act"),
    ("other", "Follow-up by the school's SSP contact"),
)
OWNER_KIND = {
    "mentor": "civil_society",
    "family_dialogue": "municipality",
    "leisure_or_job": "housing_social",
    "exit_programme": "municipality",
    "concern_conversation": "police",
    "statutory_measure": "municipality",
    "other": "municipality",
}
REASONS = ("resolved", "unfounded", "transferred", "police_matter", "moved_away", "other")

# Order of same-day work: a forum meets after the morning's assessments and before
# the actions it agrees are followed up.
ESTABLISH, REFER, ASSESS, MEET, AGREE, FOLLOW_UP, CLOSE, REOPEN = range(8)


@dataclass
class DemoSummary:
    today: date
    forums: list[UUID] = field(default_factory=list)
    cases: list[UUID] = field(default_factory=list)
    meetings_held: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    closures: Counter[str] = field(default_factory=Counter)
    reopened: list[UUID] = field(default_factory=list)


class DemoMunicipality:
    """Plans a whole synthetic history, then plays it through the application in date order."""

    def __init__(self, app: Forebyg, *, today: date, cases: int = 40, seed: int = 2020) -> None:
        self.app, self.today, self.n_cases = app, today, cases
        self.rng = random.Random(seed)
        self.start = today - timedelta(days=548)
        self.ops: list[tuple[date, int, int, Callable[[], Any]]] = []
        self.summary = DemoSummary(today=today)
        self.kind_of = {o.slug: o.kind for o in ORGS}
        forums = max(2, cases // 200)
        self.forums = [FORUMS[i % len(FORUMS)] for i in range(forums)]
        self.forum_ids = [self._id("forum", i) for i in range(forums)]
        self.meetings: list[list[tuple[date, UUID]]] = []
        self.agenda: dict[UUID, list[UUID]] = {}

    def _id(self, *parts: object) -> UUID:
        return uuid5(NAMESPACE, "/".join(str(p) for p in parts))

    def _at(self, on: date, order: int, op: Callable[[], Any]) -> None:
        self.ops.append((on, order, len(self.ops), op))

    def run(self) -> DemoSummary:
        register_accounts(self.app)
        for i, forum in enumerate(self.forums):
            self._plan_forum(i, forum)
        reasons = list(REASONS)
        for n in range(self.n_cases):
            self._plan_case(n, forced_reason=reasons.pop(0) if reasons else None, reopen=(n == 7))
        for _on, _order, _seq, op in sorted(self.ops, key=lambda o: o[:3]):
            op()
        return self.summary

    def _plan_forum(self, i: int, forum: DemoForum) -> None:
        forum_id, established = self.forum_ids[i], self.start - timedelta(days=30)
        name = forum.name if i < len(FORUMS) else f"{forum.name} {i // len(FORUMS) + 1}"
        self._at(
            established,
            ESTABLISH,
            lambda: self.summary.forums.append(
                self.app.establish_forum(
                    name=name,
                    municipality="Aarhus",
                    housing_areas=list(forum.housing_areas),
                    chair_org=forum.chair,
                    members=list(forum.members),
                    established_on=established,
                    forum_id=forum_id,
                ).id
            ),
        )
        meetings, on, k = [], self.start + timedelta(days=self.rng.randint(3, 14)), 0
        while on <= self.today + timedelta(days=42):
            meeting_id, planned = self._id("meeting", i, k), on
            self._at(
                max(established, min(on - timedelta(days=21), self.today)),
                MEET,
                partial(self.app.schedule_meeting, forum_id, planned, meeting_id=meeting_id),
            )
            if on <= self.today and self.rng.random() < 0.06:
                self._at(
                    on,
                    MEET,
                    partial(self.app.cancel_meeting, forum_id, meeting_id, "No quorum", cancelled_on=on),
                )
            elif on <= self.today:
                meetings.append((on, meeting_id))
                self.agenda[meeting_id] = []
                attendees = [o for o in forum.members if o == forum.chair or self.rng.random() < 0.8]
                self._at(on, MEET, partial(self._hold, forum_id, meeting_id, on, attendees))
            on += timedelta(days=self.rng.choice((14, 21, 28, 28, 35, 42)))
            k += 1
        self.meetings.append(meetings)

    def _hold(self, forum_id: UUID, meeting_id: UUID, on: date, attendees: list[str]) -> None:
        self.app.hold_meeting(
            forum_id,
            meeting_id,
            held_on=on,
            attendees=attendees,
            discussed_cases=self.agenda[meeting_id],
            summary=f"{len(self.agenda[meeting_id])} case(s) discussed",
        )
        self.summary.meetings_held += 1

    def _next_meeting(self, f: int, after: date) -> tuple[date, UUID] | None:
        return next(((d, m) for d, m in self.meetings[f] if d >= after), None)

    def _plan_case(self, n: int, forced_reason: str | None, reopen: bool) -> None:
        rng, f = self.rng, n % len(self.forums)
        forum, forum_id, case_id = self.forums[f], self.forum_ids[f], self._id("case", n)
        group = "cross_over" if rng.random() < 0.55 else "younger_sibling"
        received = self.start + timedelta(days=rng.randint(0, 520))
        if forced_reason or reopen:
            received = self.start + timedelta(days=rng.randint(0, 200))
        referrer = rng.choice(forum.members)
        birth_year = received.year - rng.randint(12, 19)
        subject = Subject(
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{birth_year % 100:02d}-"
            f"{rng.randint(0, 9999):04d}",
            birth_year,
        )

        def refer() -> None:
            self.app.refer_case(
                forum_id=forum_id,
                target_group=group,
                referred_by=referrer,
                received_on=received,
                concern=rng.choice(CONCERNS[group]),
                subject=subject,
                legal_basis=rng.choice(
                    ("retsplejeloven_115", "retsplejeloven_115", "databeskyttelsesloven_8", "consent")
                ),
                subject_id=self._id("subject", n),
                case_id=case_id,
            )
            self.summary.cases.append(case_id)

        self._at(received, REFER, refer)
        assessed = received + timedelta(days=rng.randint(1, 21))
        if assessed > self.today:
            return
        decision = {"unfounded": "no_further_action", "transferred": "redirect"}.get(
            forced_reason or "", rng.choices(("accept", "redirect", "no_further_action"), (75, 12, 13))[0]
        )
        self._assess(case_id, assessed, decision)
        if decision != "accept":
            closed = assessed + timedelta(days=rng.randint(1, 14))
            reason = "transferred" if decision == "redirect" else "unfounded"
            if closed <= self.today:
                self._close(case_id, closed, reason)
            return
        end = self._work_on_case(n, f, case_id, assessed, forced_reason)
        if end and reopen:
            reopened = end + timedelta(days=30)
            self._at(reopened, REOPEN, partial(self._reopen, case_id, reopened))
            self._assess(case_id, reopened + timedelta(days=2), "accept")
            self._work_on_case(n + 1_000_000, f, case_id, reopened + timedelta(days=2), None, close=False)

    def _reopen(self, case_id: UUID, on: date) -> None:
        self.app.reopen_case(
            case_id, reopened_on=on, reason="New concern from the club: contact with the milieu again"
        )
        self.summary.reopened.append(case_id)

    def _assess(self, case_id: UUID, on: date, decision: str) -> None:
        self._at(
            on,
            ASSESS,
            lambda: self.app.assess_case(
                case_id,
                assessed_on=on,
                decision=decision,
                risk_and_threat="Signs of identification with an extremist milieu; no concrete threat.",
                wellbeing_and_resilience="Attached to school and a sports club; family willing to cooperate.",
                judgement={
                    "accept": "Accepted for the forum's preventive effort.",
                    "redirect": "Redirected to the municipality's children and youth services.",
                    "no_further_action": "No basis for concern after dialogue.",
                }[decision],
            ),
        )

    def _work_on_case(
        self, n: int, f: int, case_id: UUID, assessed: date, forced_reason: str | None, close: bool = True
    ) -> date | None:
        rng, forum = self.rng, self.forums[f]
        first = self._next_meeting(f, assessed)
        if first is None:
            return None
        self.agenda[first[1]].append(case_id)
        last = first[0]
        for a in range(rng.choice((1, 1, 2, 2, 3))):
            kind, description = rng.choice(ACTIONS)
            owners = [o for o in forum.members if self.kind_of[o] == OWNER_KIND[kind]] or [forum.chair]
            action_id, agreed = self._id("action", n, a), first[0]
            due = agreed + timedelta(days=rng.randint(14, 56))
            self._at(
                agreed,
                AGREE,
                partial(
                    self.app.agree_action,
                    case_id,
                    kind=kind,
                    description=description,
                    responsible_org=rng.choice(owners),
                    due_on=due,
                    meeting_id=first[1],
                    action_id=action_id,
                ),
            )
            fate = rng.choices(("on_time", "late", "cancelled", "rescheduled"), (62, 20, 9, 9))[0]
            done = {
                "on_time": due - timedelta(days=rng.randint(0, 7)),
                "late": due + timedelta(days=rng.randint(3, 40)),
                "cancelled": agreed + timedelta(days=rng.randint(5, 30)),
                "rescheduled": due + timedelta(days=rng.randint(10, 30)),
            }[fate]
            done = max(done, agreed)
            if fate == "rescheduled" and due <= self.today:
                self._at(
                    due,
                    FOLLOW_UP,
                    partial(
                        self.app.reschedule_action,
                        case_id,
                        action_id,
                        due_on=due + timedelta(days=30),
                        rescheduled_on=due,
                        reason="Waiting list for the offer",
                    ),
                )
            if done > self.today:
                self.summary.actions["open"] += 1
                last = self.today + timedelta(days=999)
                continue
            self.summary.actions[fate] += 1
            last = max(last, done)
            if fate == "cancelled":
                self._at(
                    done,
                    FOLLOW_UP,
                    partial(
                        self.app.cancel_action,
                        case_id,
                        action_id,
                        cancelled_on=done,
                        reason="The young person declined the offer",
                    ),
                )
            else:
                self._at(
                    done,
                    FOLLOW_UP,
                    partial(
                        self.app.complete_action,
                        case_id,
                        action_id,
                        completed_on=done,
                        outcome="Carried out; the young person took part",
                    ),
                )
        follow = self._next_meeting(f, first[0] + timedelta(days=1))
        if follow and follow[0] <= last:
            self.agenda[follow[1]].append(case_id)
        if rng.random() < 0.3 and first[0] + timedelta(days=60) <= self.today + timedelta(days=90):
            review_on = first[0] + timedelta(days=60)
            self._at(
                first[0],
                AGREE,
                lambda: self.app.schedule_review(case_id, review_on=review_on, scheduled_on=first[0]),
            )
            if review_on <= self.today and review_on < last:
                self._at(
                    review_on,
                    FOLLOW_UP,
                    lambda: self.app.record_review(
                        case_id, reviewed_on=review_on, notes="Progress reviewed with the mentor"
                    ),
                )
            else:
                last = max(last, review_on)
        closed = last + timedelta(days=rng.randint(7, 30))
        if not close or closed > self.today or (forced_reason is None and rng.random() < 0.2):
            return None
        reason = forced_reason or rng.choices(REASONS, (60, 0, 5, 10, 12, 8))[0]
        self._close(case_id, closed, reason)
        return closed

    def _close(self, case_id: UUID, on: date, reason: str) -> None:
        review = on + timedelta(days=182) if reason == "resolved" else None
        self.summary.closures[reason] += 1
        self._at(
            on,
            CLOSE,
            lambda: self.app.close_case(
                case_id,
                closed_on=on,
                reason=reason,
                summary=f"Closed as {reason.replace('_', ' ')}",
                post_closure_review_on=review,
            ),
        )


def register_accounts(app: Forebyg) -> None:
    """The demo's organisations and one login per role (password DEMO_PASSWORD)."""
    for org in ORGS:
        if app.get_organisation(org.slug) is None:
            app.add_organisation(org.slug, name=org.name, kind=org.kind, email=f"{org.slug}@forebyg.example")
    for username, org_slug, role in USERS:
        if app.get_caller_by_username(username) is None:
            app.add_user(username, org=org_slug, role=role, password=DEMO_PASSWORD)


def build_demo(app: Forebyg, *, today: date, cases: int = 40, seed: int = 2020) -> DemoSummary:
    return DemoMunicipality(app, today=today, cases=cases, seed=seed).run()
