"""A large, real synthetic history for the read-model benchmarks, generated fast.

Real: every event is made by the domain aggregates' own command methods (``Case.refer``,
``case.assess``, ``forum.hold_meeting`` + ``case.discuss``, ``case.agree_action``, ...), so every
domain rule is checked on the way, and every event is recorded by ``app.save`` (the mapper sealing
personal fields with the subject's key, the transcoder, the recorder and its notification ids),
exactly as the application records them; each new case's subject gets its key first, as
``refer_case`` does.

Fast: the aggregates stay in memory (no repository reads between commands); one
``app.save(forum, *cases)`` records one step of a whole group of cases (default 100) in one
transaction instead of one command per transaction; the subjects' keys of a group are registered
in one transaction; and the snapshots (every ``snapshotting_intervals`` events, as the application
takes them) are taken from the aggregate in hand, the same state the application would otherwise
read back from the store to take them.

Shape of the log: ``--active`` cases are open at any time, in groups of ``--group`` cases that
belong to one forum each (one forum per slot; a slot takes its next group when its group closes).
Groups start staggered and advance round-robin, one step per group per round, so each case's
events are spread over the log, interleaved with those of the other open cases, as in a real
store where many cases progress in parallel.

Every case records exactly ``events_per_case`` events (>= 4):

    Referred, Assessed(accept),
    cycles of 9 events over 4 steps:
        meeting   -> Discussed (with the forum's MeetingHeld), ActionAgreed x 2 (at the meeting)
        follow-up -> ActionRescheduled (action 1), ReviewScheduled
        follow-up -> ReminderSent (action 1 due soon), ActionCompleted (1), ActionCompleted or
                     ActionCancelled (2)
        review    -> Reviewed
    the remainder (0-8 events): alternating ReviewScheduled / Reviewed,
    Closed (resolved, with a post-closure review date), Reviewed (the post-closure review).

With the default 50 events: 2 + 5 cycles (45) + 1 + 2. The forum records MeetingScheduled one
step before and MeetingHeld at each meeting step (2 events per cycle per group).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from application.app import Forebyg
from application.demo import ACTIONS, CONCERNS, FIRST, LAST, ORGS, OWNER_KIND
from domain.case import Case
from domain.forum import Forum
from domain.values import Subject

MEMBERS = (
    "aarhus-kommune",
    "aarhus-boligsocial",
    "oestjyllands-politi",
    "foreningen-broen",
    "klub-gellerup",
)
CHAIR = "aarhus-kommune"
KIND_OF = {o.slug: o.kind for o in ORGS}


def plan_steps(events_per_case: int) -> list[str]:
    """The steps every case of a group goes through, in order."""
    if events_per_case < 4:
        raise ValueError("events per case must be at least 4 (refer, assess, close, review)")
    cycles, remainder = divmod(events_per_case - 4, 9)
    steps = ["refer", "assess"]
    steps += ["meet", "follow1", "follow2", "review"] * cycles
    if remainder:
        steps.append(f"extra{remainder}")
    steps += ["close", "post_review"]
    return steps


@dataclass
class CaseWork:
    case: Case
    actions: list[tuple[UUID, str]] = field(default_factory=list)  # (action id, owner) this cycle


@dataclass
class Slot:
    index: int
    forum: Forum
    day: date
    start_round: int
    cases: list[CaseWork] = field(default_factory=list)
    step: int = 0
    meeting_id: UUID | None = None
    meeting_on: date | None = None


@dataclass
class HistoryStats:
    cases: int = 0
    case_events: int = 0
    forum_events: int = 0
    other_events: int = 0
    saves: int = 0
    snapshots: int = 0
    seconds: float = 0.0
    last_day: date | None = None

    @property
    def events(self) -> int:
        return self.case_events + self.forum_events + self.other_events


class HistoryGenerator:
    def __init__(
        self,
        app: Forebyg,
        *,
        cases: int,
        events_per_case: int = 50,
        group: int = 100,
        active: int = 2000,
        start: date = date(2012, 1, 2),
        seed: int = 2020,
        progress: Callable[[HistoryStats], None] | None = None,
    ) -> None:
        self.app, self.n_cases, self.group = app, cases, group
        self.steps = plan_steps(events_per_case)
        self.events_per_case = events_per_case
        self.slots_count = max(1, min(active // group, -(-cases // group)))
        self.start, self.rng = start, random.Random(seed)
        self.stats = HistoryStats()
        self.progress = progress
        self._issued = 0

    def _uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    # --- driving -----------------------------------------------------------------------

    def run(self) -> HistoryStats:
        # The application would take each snapshot by reading the aggregate back from the store
        # (half the generation time); `_save` takes the same snapshots from memory instead.
        self.intervals = dict(type(self.app).snapshotting_intervals)
        self.app.snapshotting_intervals = {}  # type: ignore[misc]  # this instance, for this run
        try:
            return self._run()
        finally:
            del self.app.snapshotting_intervals  # type: ignore[misc]

    def _run(self) -> HistoryStats:
        began = time.perf_counter()
        stagger = max(1, len(self.steps) // self.slots_count)
        slots = []
        for i in range(self.slots_count):
            forum = Forum.establish(
                name=f"Samarbejdsforum {i + 1}",
                municipality="Aarhus",
                housing_areas=[f"Boligområde {i + 1}"],
                chair_org=CHAIR,
                established_on=self.start,
                forum_id=self._uuid(),
            )
            for member in MEMBERS:
                if member != CHAIR:
                    forum.join(member, self.start)
            slots.append(Slot(i, forum, self.start + timedelta(days=i), start_round=i * stagger))
        self._save([s.forum for s in slots], forum_events=sum(len(s.forum.pending_events) for s in slots))
        round_no = 0
        while True:
            busy = False
            for slot in slots:
                if round_no < slot.start_round:
                    busy = True
                    continue
                if not slot.cases and not self._new_group(slot):
                    continue
                busy = True
                self._advance(slot)
            if not busy:
                break
            round_no += 1
        self.stats.seconds = time.perf_counter() - began
        self.stats.last_day = max(s.day for s in slots)
        return self.stats

    def _new_group(self, slot: Slot) -> bool:
        size = min(self.group, self.n_cases - self._issued)
        if size <= 0:
            return False
        self._issued += size
        slot.cases = [CaseWork(case=None) for _ in range(size)]  # type: ignore[arg-type]
        slot.step = 0
        return True

    def _save(self, aggregates: list[Any], *, forum_events: int = 0, case_events: int = 0) -> None:
        before = {a.id: a.version - len(a.pending_events) for a in aggregates}
        self.app.save(*aggregates)
        # Snapshots as the application takes them (every `snapshotting_intervals` events), but
        # from the aggregate in hand rather than by reading it back: the same state, no read.
        snapshots = []
        for aggregate in aggregates:
            interval = self.intervals.get(type(aggregate))
            if interval and aggregate.version // interval > before[aggregate.id] // interval:
                snapshot_class = getattr(type(aggregate), "Snapshot", type(self.app).snapshot_class)
                snapshots.append(snapshot_class.take(aggregate))
        if snapshots:
            assert self.app.snapshots is not None
            self.app.snapshots.put(snapshots)
            self.stats.snapshots += len(snapshots)
        self.stats.saves += 1
        self.stats.forum_events += forum_events
        self.stats.case_events += case_events
        if self.progress is not None and self.stats.saves % 200 == 0:
            self.progress(self.stats)

    def _advance(self, slot: Slot) -> None:
        rng, forum = self.rng, slot.forum
        slot.day += timedelta(days=rng.randint(5, 12))
        on, step = slot.day, self.steps[slot.step]
        forum_before = forum.version
        if step == "refer":
            for work in slot.cases:
                work.case = self._refer(forum, on)
            register_subjects(self.app, [(w.case.id, w.case.subject_id) for w in slot.cases])
            self.stats.cases += len(slot.cases)
        elif step == "assess":
            for work in slot.cases:
                work.case.assess(
                    on,
                    "accept",
                    "Signs of identification with an extremist milieu; no concrete threat.",
                    "Attached to school and a sports club; family willing to cooperate.",
                    "Accepted for the forum's preventive effort.",
                )
        elif step == "meet":
            assert slot.meeting_id is not None
            attendees = [m for m in MEMBERS if m == CHAIR or rng.random() < 0.8]
            case_ids = [w.case.id for w in slot.cases]
            forum.hold_meeting(slot.meeting_id, on, attendees, case_ids, f"{len(case_ids)} case(s) discussed")
            for work in slot.cases:
                work.case.discuss(forum.id, slot.meeting_id, on)
                work.actions = []
                for _ in range(2):
                    kind, description = rng.choice(ACTIONS)
                    owners = [o for o in MEMBERS if KIND_OF[o] == OWNER_KIND[kind]] or [CHAIR]
                    owner, action_id = rng.choice(owners), self._uuid()
                    work.case.agree_action(
                        action_id=action_id,
                        kind=kind,
                        description=description,
                        responsible_org=owner,
                        due_on=on + timedelta(days=rng.randint(14, 56)),
                        agreed_on=on,
                        meeting_id=slot.meeting_id,
                    )
                    work.actions.append((action_id, owner))
        elif step == "follow1":
            for work in slot.cases:
                first = work.case.action(work.actions[0][0])
                work.case.reschedule_action(
                    first.action_id,
                    max(first.due_on, on) + timedelta(days=rng.randint(7, 30)),
                    on,
                    "Waiting list for the offer",
                )
                work.case.schedule_review(on + timedelta(days=rng.randint(20, 60)), on)
        elif step == "follow2":
            for work in slot.cases:
                (first_id, owner), (second_id, _) = work.actions
                first = work.case.action(first_id)
                work.case.record_reminder(
                    key=f"action_due_soon:{work.case.id}:{first_id}:{first.due_on.isoformat()}",
                    rule="action_due_soon",
                    channel="email",
                    recipient_org=owner,
                    sent_on=on,
                    due_on=first.due_on,
                    action_id=first_id,
                )
                work.case.complete_action(first_id, on, "Carried out; the young person took part")
                if rng.random() < 0.85:
                    work.case.complete_action(second_id, on, "Carried out as agreed")
                else:
                    work.case.cancel_action(second_id, on, "The young person declined the offer")
        elif step == "review":
            for work in slot.cases:
                work.case.record_review(on, "Progress reviewed with the mentor")
        elif step.startswith("extra"):
            for work in slot.cases:
                for k in range(int(step[len("extra") :])):
                    if k % 2 == 0:
                        work.case.schedule_review(on + timedelta(days=30), on)
                    else:
                        work.case.record_review(on, "Interim review")
        elif step == "close":
            for work in slot.cases:
                work.case.close(on, "resolved", "Closed as resolved", on + timedelta(days=182))
        elif step == "post_review":
            for work in slot.cases:
                work.case.record_review(on, "Post-closure review: no new concern")
        else:  # pragma: no cover
            raise AssertionError(step)
        # The forum schedules the next meeting one step ahead (within this same transaction).
        following = self.steps[slot.step + 1] if slot.step + 1 < len(self.steps) else None
        if following == "meet":
            slot.meeting_id = self._uuid()
            forum.schedule_meeting(slot.meeting_id, on + timedelta(days=rng.randint(5, 12)))
        forum_events = forum.version - forum_before
        cases = [w.case for w in slot.cases]
        case_events = sum(len(c.pending_events) for c in cases)
        self._save(
            ([forum] if forum_events else []) + cases, forum_events=forum_events, case_events=case_events
        )
        slot.step += 1
        if slot.step == len(self.steps):
            slot.cases = []

    def _refer(self, forum: Forum, on: date) -> Case:
        rng = self.rng
        group = "cross_over" if rng.random() < 0.55 else "younger_sibling"
        birth_year = on.year - rng.randint(12, 19)
        subject = Subject(
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{birth_year % 100:02d}"
            f"-{rng.randint(0, 9999):04d}",
            birth_year,
        )
        return Case.refer(
            forum_id=forum.id,
            target_group=group,
            referred_by=rng.choice(MEMBERS),
            received_on=on,
            legal_basis=rng.choice(("retsplejeloven_115", "databeskyttelsesloven_8", "consent")),
            concern=rng.choice(CONCERNS[group]),
            subject_id=self._uuid(),
            subject=subject,
            case_id=self._uuid(),
        )


def register_subjects(app: Forebyg, pairs: list[tuple[UUID, UUID]]) -> None:
    """Give each new case's subject its own key before anything is sealed, as `refer_case` does
    with ``keystore.register`` — here for a whole group in one transaction (the same rows, the
    key wrapped the same way), since one commit per case would dominate the generation."""
    keystore = app.keystore
    wrap = getattr(keystore, "_wrap", None)
    subjects = getattr(keystore, "_subjects", None)
    if wrap is None or subjects is None:  # the key store changed shape: the public way
        for case_id, subject_id in pairs:
            keystore.register(case_id, subject_id)
        return
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    now = datetime.now(UTC).isoformat()
    with keystore.store.transaction() as cursor:
        cursor.executemany(
            "INSERT INTO subject_keys (subject_id, key, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (subject_id) DO NOTHING",
            [(str(subject_id), wrap(AESGCM.generate_key(256)), now) for _, subject_id in pairs],
        )
        cursor.executemany(
            "INSERT INTO case_subjects (case_id, subject_id) VALUES (?, ?) ON CONFLICT (case_id) DO NOTHING",
            [(str(case_id), str(subject_id)) for case_id, subject_id in pairs],
        )
    subjects.update((str(case_id), str(subject_id)) for case_id, subject_id in pairs)


def generate_history(app: Forebyg, **kwargs: object) -> HistoryStats:
    return HistoryGenerator(app, **kwargs).run()  # type: ignore[arg-type]
