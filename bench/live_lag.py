"""Read-model live lag benchmark: from a command's commit to its row in the read model.

    python bench/live_lag.py [--seconds 20] [--rate 50]

A benchmark, not a test: it measures and prints, and never fails on a missed goal. In one run,
against PostgreSQL on this machine, in a fresh schema ``bench_<random>`` that it creates and
drops (always, in ``finally``), it

1. migrates, registers the demo accounts, records a background history of
   ``--background-cases`` cases (bench/history.py: real events through the aggregates and
   ``app.save``), establishes a forum and refers + assesses a pool of ``--pool`` active cases
   through the application's commands, and catches the read models up;
2. starts a poller thread with its own connection that, every ``--poll-ms`` (2 ms), reads
   ``board_cases.version`` of every case with a command not yet seen, and marks a command
   visible at the start of the first poll that sees its version (the row's commit precedes that
   poll's snapshot);
3. baseline, "in-process": issues commands at a steady ``--rate`` for ``--seconds`` —
   ``schedule_review`` and ``agree_action`` in turn on the pool's cases, through the
   application — and after each one calls ``app.workflow.catch_up()`` itself (the best case:
   no wake-up, no other process);
4. starts ``forebyg projections`` (the follower: LISTEN/NOTIFY on PostgreSQL) as a subprocess,
   warms it up for ``--warmup`` seconds of the same load (unmeasured: its projector cache fills),
   then issues the same load for ``--seconds`` while the follower alone updates the read models;
5. prints, for each phase, the commit -> visible lag p50/p95/p99/max in ms (commit = when the
   command's save returned), the ratios follower / in-process, and the goal (follower p99 <= 200 ms).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from uuid import UUID

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from application.app import Forebyg, today_in_denmark  # noqa: E402
from application.bootstrap import build_application, migrate  # noqa: E402
from application.demo import register_accounts  # noqa: E402
from application.settings import Settings  # noqa: E402
from bench.history import CHAIR, MEMBERS, generate_history  # noqa: E402
from bench.support import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    drop_schema_and_report,
    revision,
    with_schema,
)
from domain.values import Subject  # noqa: E402

PRODUCT = Path(sys.modules["application"].__file__ or ".").resolve().parents[1]
GOAL_P99_MS = 200.0
VISIBLE_TIMEOUT = 10.0
ACTION_OWNER = "foreningen-broen"


# --- measuring visibility --------------------------------------------------------------------


@dataclass
class Pending:
    case_id: str
    version: int
    committed: float  # perf_counter when the command's save returned


@dataclass
class Phase:
    name: str
    lags: list[float] = field(default_factory=list)  # seconds
    command_seconds: list[float] = field(default_factory=list)
    catch_up_seconds: list[float] = field(default_factory=list)
    issued: int = 0
    late_starts: int = 0
    unseen: int = 0
    seconds: float = 0.0

    def percentile(self, values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]

    def lag_ms(self, q: float) -> float:
        return 1000 * self.percentile(self.lags, q)


class Poller(threading.Thread):
    """Polls board_cases for the versions of commands not yet seen, on its own connection."""

    def __init__(self, conninfo: str, schema: str, interval: float) -> None:
        super().__init__(name="visibility-poller", daemon=True)
        import psycopg

        self.conn = psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}")
        self.interval = interval
        self.lock = threading.Lock()
        self.pending: list[Pending] = []
        self.phase: Phase | None = None
        self.stopping = threading.Event()
        self.polls = 0

    def watch(self, item: Pending) -> None:
        with self.lock:
            self.pending.append(item)

    def outstanding(self) -> int:
        with self.lock:
            return len(self.pending)

    def run(self) -> None:
        statement = "SELECT case_id, version FROM board_cases WHERE case_id = ANY(%s)"
        while not self.stopping.is_set():
            with self.lock:
                waiting = list(self.pending)
            if waiting:
                started = time.perf_counter()
                rows = self.conn.execute(statement, (list({p.case_id for p in waiting}),)).fetchall()
                self.polls += 1
                versions = {case_id: version for case_id, version in rows}
                seen = [p for p in waiting if versions.get(p.case_id, 0) >= p.version]
                if seen:
                    with self.lock:
                        for item in seen:
                            self.pending.remove(item)
                    if self.phase is not None:
                        self.phase.lags += [started - p.committed for p in seen]
            time.sleep(self.interval)

    def close(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.conn.close()


# --- the load ------------------------------------------------------------------------------------


def make_pool(app: Forebyg, size: int) -> tuple[UUID, list[UUID]]:
    """A forum and `size` accepted cases, through the application's commands."""
    today = app.clock()
    forum = app.establish_forum(
        name="Samarbejdsforum (live lag)",
        municipality="Aarhus",
        housing_areas=["Benchmark area"],
        chair_org=CHAIR,
        members=list(MEMBERS),
        established_on=today - timedelta(days=90),
    )
    cases = []
    for n in range(size):
        case = app.refer_case(
            forum_id=forum.id,
            target_group="cross_over",
            referred_by=CHAIR,
            received_on=today - timedelta(days=30),
            legal_basis="retsplejeloven_115",
            concern="Benchmark case: club staff report new contacts in an extremist milieu.",
            subject=Subject.parse(f"Bench Fiktivsen {n}", "020209-4321", 2009),
        )
        app.assess_case(
            case.id,
            assessed_on=today - timedelta(days=28),
            decision="accept",
            risk_and_threat="Signs of identification with an extremist milieu; no concrete threat.",
            wellbeing_and_resilience="Attached to school; family willing to cooperate.",
            judgement="Accepted for the forum's preventive effort.",
        )
        cases.append(case.id)
    return forum.id, cases


def command(app: Forebyg, n: int, case_id: UUID) -> int:
    """One command; answers the case's new version."""
    today = app.clock()
    if n % 2 == 0:
        answer = app.schedule_review(case_id, review_on=today + timedelta(days=7 + n % 90))
    else:
        answer = app.agree_action(
            case_id,
            kind="mentor",
            description="Mentor from the mentor corps, weekly meetings",
            responsible_org=ACTION_OWNER,
            due_on=today + timedelta(days=14 + n % 60),
        )
    return int(answer.version)


def run_load(
    app: Forebyg,
    cases: list[UUID],
    poller: Poller,
    phase: Phase | None,
    seconds: float,
    rate: float,
    start_n: int,
    in_process: bool,
) -> int:
    """Issue commands at a steady rate (open loop: each at its scheduled time, or at once when
    behind) for `seconds`; answers the next command number."""
    poller.phase = phase
    interval = 1.0 / rate
    began = time.perf_counter()
    n, k = start_n, 0
    while True:
        due = began + k * interval
        if due - began >= seconds:
            break
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        elif phase is not None and now - due > interval:
            phase.late_starts += 1
        case_id = cases[n % len(cases)]
        t0 = time.perf_counter()
        version = command(app, n, case_id)
        committed = time.perf_counter()
        poller.watch(Pending(str(case_id), version, committed))
        if in_process:
            app.workflow.catch_up()
            if phase is not None:
                phase.catch_up_seconds.append(time.perf_counter() - committed)
        if phase is not None:
            phase.command_seconds.append(committed - t0)
            phase.issued += 1
        n, k = n + 1, k + 1
    if phase is not None:
        phase.seconds = time.perf_counter() - began
    deadline = time.perf_counter() + VISIBLE_TIMEOUT
    while poller.outstanding() and time.perf_counter() < deadline:
        time.sleep(0.01)
    if phase is not None:
        phase.unseen = poller.outstanding()
    with poller.lock:
        poller.pending.clear()
    poller.phase = None
    return n


# --- the follower --------------------------------------------------------------------------------


@dataclass
class Follower:
    proc: subprocess.Popen[bytes]
    log: Path
    argv: list[str]

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def catch_ups(self) -> tuple[int, int]:
        """(catch-ups that applied events, events applied), from the follower's log."""
        count = events = 0
        for line in self.log.read_text(errors="replace").splitlines():
            if "read models caught up:" in line:
                count += 1
                events += int(line.rsplit(":", 1)[1].split()[0])
        return count, events


def start_follower(url: str, logdir: Path) -> Follower:
    script = Path(sys.executable).parent / "forebyg"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "interfaces.cli"]
    argv += ["projections"]
    env = dict(os.environ, FOREBYG_DATABASE_URL=url)
    log = logdir / "projections.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=PRODUCT, start_new_session=True
        )
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError(
            f"forebyg projections exited with {proc.returncode}:\n{Follower(proc, log, argv).tail()}"
        )
    return Follower(proc, log, argv)


def stop_follower(follower: Follower) -> None:
    if follower.proc.poll() is None:
        follower.proc.send_signal(signal.SIGTERM)  # sets its stop event; it exits within ~1 s
        try:
            follower.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(follower.proc.pid, signal.SIGKILL)  # its own session, started above
            follower.proc.wait(timeout=10)


# --- main ----------------------------------------------------------------------------------------


def describe(phase: Phase) -> str:
    rate = phase.issued / phase.seconds if phase.seconds else 0.0
    lines = [
        f"{phase.name}: {phase.issued} commands in {phase.seconds:.1f} s ({rate:.1f}/s), "
        f"{len(phase.lags)} seen, {phase.unseen} not visible within {VISIBLE_TIMEOUT:g} s, "
        f"{phase.late_starts} started late",
        f"    commit -> visible ms: p50 {phase.lag_ms(0.5):7.1f}  p95 {phase.lag_ms(0.95):7.1f}  "
        f"p99 {phase.lag_ms(0.99):7.1f}  max {1000 * max(phase.lags, default=float('nan')):7.1f}",
        f"    the command itself (get, decide, save) ms: "
        f"p50 {1000 * phase.percentile(phase.command_seconds, 0.5):.1f}"
        f"  p99 {1000 * phase.percentile(phase.command_seconds, 0.99):.1f}",
    ]
    if phase.catch_up_seconds:
        lines.append(
            "    app.workflow.catch_up() after it ms: "
            f"p50 {1000 * phase.percentile(phase.catch_up_seconds, 0.5):.1f}"
            f"  p99 {1000 * phase.percentile(phase.catch_up_seconds, 0.99):.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="length of each measured phase (default 20)"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="commands per second (default 50)")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured seconds with the follower (default 3)"
    )
    parser.add_argument("--pool", type=int, default=200, help="active cases the commands go to (default 200)")
    parser.add_argument(
        "--background-cases",
        type=int,
        default=2000,
        help="cases of background history (default 2000 x 50 events)",
    )
    parser.add_argument(
        "--poll-ms", type=float, default=2.0, help="poll interval of the read model (default 2)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREBYG_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL base URL; a schema bench_<random> is created in it and dropped",
    )
    args = parser.parse_args(argv)
    command_line = shlex.join([Path(sys.executable).name, *sys.argv]) if argv is None else shlex.join(argv)
    schema = f"bench_{secrets.token_hex(4)}"
    url = with_schema(args.database_url, schema)
    settings = Settings(database_url=url)
    load_at_start = os.getloadavg()[0]
    app: Forebyg | None = None
    poller: Poller | None = None
    follower: Follower | None = None
    print(f"Forebyg read-model live lag benchmark (schema {schema}, {args.rate:g} commands/s)", flush=True)
    try:
        began = time.perf_counter()
        migrate(settings)
        app = build_application(settings, clock=today_in_denmark)
        register_accounts(app)
        history = generate_history(app, cases=args.background_cases)
        _, cases = make_pool(app, args.pool)
        applied = app.workflow.catch_up()
        print(
            f"setup: {history.events} background events ({history.cases} cases), a pool of "
            f"{len(cases)} active cases; read models caught up in-process ({applied} events); "
            f"{time.perf_counter() - began:.1f} s",
            flush=True,
        )

        poller = Poller(args.database_url.split("?")[0], schema, args.poll_ms / 1000)
        poller.start()

        in_process = Phase("in-process: app.workflow.catch_up() after each command (baseline)")
        n = run_load(app, cases, poller, None, 1.0, args.rate, 0, in_process=True)  # warm-up
        n = run_load(app, cases, poller, in_process, args.seconds, args.rate, n, in_process=True)
        print(describe(in_process), flush=True)

        logdir = Path(tempfile.mkdtemp(prefix="forebyg-lag-"))
        follower = start_follower(url, logdir)
        n = run_load(app, cases, poller, None, args.warmup, args.rate, n, in_process=False)
        before = follower.catch_ups()
        followed = Phase("follower: forebyg projections (LISTEN/NOTIFY), subprocess")
        n = run_load(app, cases, poller, followed, args.seconds, args.rate, n, in_process=False)
        after = follower.catch_ups()
        if follower.proc.poll() is not None:
            raise RuntimeError(f"forebyg projections died:\n{follower.tail()}")
        print(describe(followed), flush=True)
        runs, events = after[0] - before[0], after[1] - before[1]
        print(
            f"    the follower's catch-ups that applied events: {runs}, {events} events "
            f"({events / runs if runs else float('nan'):.2f} per catch-up)",
            flush=True,
        )

        def ratio(q: float) -> float:
            base = in_process.lag_ms(q)
            return followed.lag_ms(q) / base if base else float("nan")

        p99 = followed.lag_ms(0.99)
        verdict = "meets" if p99 <= GOAL_P99_MS else "MISSES"
        print()
        print("=" * 78)
        print("SUMMARY")
        print(f"  command       {command_line}")
        print(f"  product       git {revision(PRODUCT)}; follower: {shlex.join(follower.argv)}")
        print(
            f"  machine       {os.cpu_count()} cores, {platform.platform()}, "
            f"Python {platform.python_version()}; load average at start {load_at_start:.1f}, "
            f"now {os.getloadavg()[0]:.1f} (other work shares the cores)"
        )
        print(
            f"  load          {args.rate:g} commands/s for {args.seconds:g} s per phase (schedule_review / "
            f"agree_action on {len(cases)} active cases); {history.events} background events; "
            f"poll every {args.poll_ms:g} ms ({poller.polls} polls)"
        )
        for phase in (in_process, followed):
            print(
                f"  {'in-process' if phase is in_process else 'follower':<13} commit -> visible ms  "
                f"p50 {phase.lag_ms(0.5):7.1f}  p95 {phase.lag_ms(0.95):7.1f}  "
                f"p99 {phase.lag_ms(0.99):7.1f}   ({len(phase.lags)} commands, {phase.unseen} unseen)"
            )
        print(
            f"  ratio         follower / in-process: p50 {ratio(0.5):.2f}  p95 {ratio(0.95):.2f}  "
            f"p99 {ratio(0.99):.2f}"
        )
        print(f"  goal          follower p99 <= {GOAL_P99_MS:g} ms: {verdict} ({p99:.1f} ms)")
        print("=" * 78)
        return 0
    finally:
        if follower is not None:
            stop_follower(follower)
        if poller is not None:
            poller.close()
        if app is not None:
            app.close()
        drop_schema_and_report(args.database_url, schema)


if __name__ == "__main__":
    sys.exit(main())
