"""API throughput benchmark: the JSON API under gunicorn against the same commands called directly.

    python bench/api_throughput.py [--seconds S] [--repeat N] [--gc-probe] [--py-spy DIR]

A benchmark, not a test: it measures and prints, and never fails on a missed goal. In one run,
against PostgreSQL on this machine, in a fresh schema ``bench_<random>`` that it creates and
drops (always, in ``finally``, after stopping the server), it

1. migrates, registers the demo accounts, builds the demo municipality (2 forums, 200 cases),
   starts ``forebyg serve`` (gunicorn, 2 workers per core, 4 threads each) and signs in; before every
   measured phase it makes a fresh pool of active cases, each with one open action;
2. runs a command mix directly on ``Forebyg`` from 8 concurrent callers — in 8 processes (no
   shared GIL, like gunicorn's workers) and in 8 threads of one process — each with the
   coordinator as caller and ``expected_version`` from the previous answer; the faster of the
   two is the baseline, so the ratio is never flattered by a handicapped baseline. A third
   direct run adds the API's own storage work (caller for the token, receipt saved) to tell
   storage from web overhead;
3. sends the same mix over HTTP from 8 client threads: bearer token, need-to-know, a unique
   ``Idempotency-Key`` per command, ``If-Match`` with the ETag of the previous answer (412/409:
   re-read the case's ETag with a GET and retry, counted);
4. prints HTTP / direct (goal >= 0.7);
5. runs an open-loop schedule of 200 commands/s over HTTP (8 threads x 25/s) and prints
   p50/p95/p99 latency measured from each command's *scheduled* send time (no coordinated
   omission; goal p99 <= 20 ms);
6. prints a summary with the machine, versions, product revision and the command line.

Each phase also reports where the CPU went, per command, from /proc: this process (the client),
the application processes, this run's PostgreSQL backends (told apart by ``PGAPPNAME``),
PostgreSQL's background writers, kernel softirq, and *other* work on the machine — a phase in
which other work took more than 10% of the machine is flagged NOISY. Before each phase it waits
(``--quiet-wait``) for the machine to fall quiet. ``--repeat N`` runs N rounds of all phases and
pools each phase's quiet rounds. ``--gc-probe`` logs the workers' garbage-collection pauses and
relates them to the open loop's slow answers; ``--py-spy DIR`` samples the workers during the
closed-loop HTTP phase and prints where a request's CPU goes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after any installed / PYTHONPATH copy of the product

from application.accounts import Caller  # noqa: E402
from application.app import Forebyg, today_in_denmark  # noqa: E402
from application.bootstrap import build_application, migrate  # noqa: E402
from application.demo import DEMO_PASSWORD, build_demo, register_accounts  # noqa: E402
from application.errors import ConflictError, StaleVersionError  # noqa: E402
from application.receipts import Idempotency, Recorded  # noqa: E402
from application.settings import Settings  # noqa: E402
from bench.support import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    drop_schema_and_report,
    revision,
    with_schema,
)
from domain.values import Subject  # noqa: E402
from interfaces.web.server import THREADS  # noqa: E402

# The product code measured: where `application` was imported from (the server runs from there too).
PRODUCT = Path(sys.modules["application"].__file__ or ".").resolve().parents[1]

COORDINATOR = "koordinator"  # demo user: coordinator at aarhus-kommune, a member of every demo forum
CHAIR = "aarhus-kommune"
ACTION_OWNER = "foreningen-broen"  # a member of both demo forums
MIX = (("schedule_review", 35), ("reschedule_action", 35), ("agree_action", 20), ("refer_case", 10))
MAX_RETRIES = 5
GOAL_RATIO = 0.7
GOAL_P99_MS = 20.0
NOISY = 0.10  # a phase in which other work used more than this share of the machine is flagged
NOT_CPU = ("machine", "checkpoints", "wal bytes")  # keys of PhaseResult.cpu that are no CPU share


# --- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientPlan:
    """One concurrent caller's share: its own cases (no two callers touch the same case), the
    forums it refers new cases to, and the seed of its command sequence."""

    index: int
    cases: tuple[tuple[str, str], ...]  # (case id, id of an open action on it)
    forums: tuple[str, ...]
    seed: int


@dataclass(frozen=True)
class Op:
    kind: str
    case_id: str | None
    action_id: str | None
    forum_id: str | None
    days: int
    n: int


def operations(plan: ClientPlan) -> Iterator[Op]:
    """The caller's endless, deterministic command sequence; always valid on the caller's cases."""
    rng = random.Random(plan.seed * 1_000 + plan.index)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    n = 0
    while True:
        kind = rng.choices(kinds, weights)[0]
        case_id, action_id = plan.cases[n % len(plan.cases)]
        if kind == "refer_case":
            yield Op(kind, None, None, plan.forums[n % len(plan.forums)], 0, n)
        else:
            yield Op(kind, case_id, action_id, None, rng.randint(7, 120), n)
            n += 1


def http_form(op: Op, today: date) -> tuple[str, dict[str, Any]]:
    """The API path and JSON body of a command."""
    later = (today + timedelta(days=op.days)).isoformat()
    if op.kind == "schedule_review":
        return f"/api/cases/{op.case_id}/review-schedule", {"review_on": later}
    if op.kind == "reschedule_action":
        return (
            f"/api/cases/{op.case_id}/actions/{op.action_id}/rescheduling",
            {"due_on": later, "reason": "Waiting list for the offer"},
        )
    if op.kind == "agree_action":
        return f"/api/cases/{op.case_id}/actions", {
            "kind": "family_dialogue",
            "description": "Family dialogue meeting with parents",
            "responsible_org": ACTION_OWNER,
            "due_on": later,
        }
    assert op.kind == "refer_case"
    return "/api/cases", {
        "forum_id": op.forum_id,
        "target_group": "younger_sibling",
        "referred_by": CHAIR,
        "received_on": today.isoformat(),
        "legal_basis": "consent",
        "concern": "Younger sibling of a radicalised person; teachers notice withdrawal.",
        "subject": {"name": "Bench Testesen", "cpr": "010110-1234", "birth_year": 2010},
    }


def direct_call(
    app: Forebyg,
    op: Op,
    today: date,
    caller: Caller,
    version: int | None,
    idempotency: Idempotency | None = None,
) -> Recorded:
    """The same command as `http_form`, called on the application."""
    later = today + timedelta(days=op.days)
    if op.kind == "schedule_review":
        assert op.case_id is not None
        return app.schedule_review(
            UUID(op.case_id),
            review_on=later,
            expected_version=version,
            caller=caller,
            idempotency=idempotency,
        )
    if op.kind == "reschedule_action":
        assert op.case_id is not None and op.action_id is not None
        return app.reschedule_action(
            UUID(op.case_id),
            UUID(op.action_id),
            due_on=later,
            reason="Waiting list for the offer",
            expected_version=version,
            caller=caller,
            idempotency=idempotency,
        )
    if op.kind == "agree_action":
        assert op.case_id is not None
        return app.agree_action(
            UUID(op.case_id),
            kind="family_dialogue",
            description="Family dialogue meeting with parents",
            responsible_org=ACTION_OWNER,
            due_on=later,
            action_id=idempotency.derived_id("action") if idempotency else None,
            expected_version=version,
            caller=caller,
            idempotency=idempotency,
        )
    assert op.kind == "refer_case" and op.forum_id is not None
    return app.refer_case(
        forum_id=UUID(op.forum_id),
        target_group="younger_sibling",
        referred_by=CHAIR,
        received_on=today,
        legal_basis="consent",
        concern="Younger sibling of a radicalised person; teachers notice withdrawal.",
        subject=Subject.parse("Bench Testesen", "010110-1234", 2010),
        case_id=idempotency.derived_id("case") if idempotency else None,
        subject_id=idempotency.derived_id("subject") if idempotency else None,
        caller=caller,
        idempotency=idempotency,
    )


@dataclass
class Tally:
    """What one caller did inside the measured window."""

    commands: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    stale_412: int = 0
    conflict_409: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds
    scheduled: list[float] = field(default_factory=list)  # open loop: each latency's scheduled time
    late_starts: int = 0  # open loop: sends that left more than 1 ms after their scheduled time
    last_done: float = 0.0  # open loop: when the last measured command was answered (time.time())

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(message)

    def merge(self, other: Tally) -> None:
        self.commands += other.commands
        self.by_kind.update(other.by_kind)
        self.stale_412 += other.stale_412
        self.conflict_409 += other.conflict_409
        self.late_starts += other.late_starts
        self.last_done = max(self.last_done, other.last_done)
        self.errors += other.errors
        self.error_samples.extend(other.error_samples[: max(0, 5 - len(self.error_samples))])
        self.latencies.extend(other.latencies)
        self.scheduled.extend(other.scheduled)


# --- direct callers ------------------------------------------------------------------------


def api_session(app: Forebyg, api_work: bool) -> str | None:
    """The coordinator's server-side session, when the API's storage work is measured (and
    this version of the application has sessions)."""
    if api_work and hasattr(app, "caller_for_session"):
        token: str = app.sign_in(COORDINATOR, DEMO_PASSWORD, "127.0.0.1")[0]  # type: ignore[attr-defined]
        return token
    return None


def api_storage_work(
    app: Forebyg, session: str | None, caller: Caller, op: Op, today: date
) -> tuple[Caller, Idempotency]:
    """What the API does besides the command: the caller found for the bearer token (its
    session, then the account; or only the account without sessions) and the idempotency
    receipt for a unique key."""
    found: Caller = (
        app.caller_for_session(session)  # type: ignore[attr-defined]
        if session is not None
        else app.get_caller(caller.user_id)
    )
    path, body = http_form(op, today)
    request = b"POST\n" + path.encode() + b"\n" + json.dumps(body).encode()
    return found, Idempotency.of(str(found.user_id), uuid4().hex, request)


def run_direct_client(
    app: Forebyg,
    plan: ClientPlan,
    today: date,
    start_at: float,
    stop_at: float,
    api_work: bool,
) -> Tally:
    """One caller calling the application: closed loop, as fast as answers come back.

    ``api_work`` adds the storage work the API does besides the command itself: finding the
    caller for the bearer token on every request (the server-side session, then the account;
    or only the account, in versions without sessions) and saving an idempotency receipt with
    the events (the API looks a receipt up only when a command is refused: not on this mix).
    """
    caller = app.get_caller_by_username(COORDINATOR)
    assert caller is not None
    session = api_session(app, api_work)
    versions = {case_id: app.get_case(UUID(case_id), caller=caller)["version"] for case_id, _ in plan.cases}
    tally = Tally()
    ops = operations(plan)
    while True:
        now = time.time()
        if now >= stop_at:
            break
        op = next(ops)
        began = time.perf_counter()
        idempotency = None
        if api_work:
            caller, idempotency = api_storage_work(app, session, caller, op, today)
        ok = False
        for _ in range(MAX_RETRIES):
            version = versions.get(op.case_id) if op.case_id else None
            try:
                answer = direct_call(app, op, today, caller, version, idempotency)
            except (StaleVersionError, ConflictError) as error:
                if now >= start_at:
                    if isinstance(error, StaleVersionError):
                        tally.stale_412 += 1
                    else:
                        tally.conflict_409 += 1
                assert op.case_id is not None
                versions[op.case_id] = app.get_case(UUID(op.case_id), caller=caller)["version"]
                continue
            except Exception as error:  # a benchmark reports, it does not stop
                if now >= start_at:
                    tally.error(f"{op.kind}: {type(error).__name__}: {error}")
                break
            if op.case_id:
                versions[op.case_id] = answer.version
            ok = True
            break
        finished = time.time()
        if ok and now >= start_at and finished <= stop_at:
            tally.commands += 1
            tally.by_kind[op.kind] += 1
            tally.latencies.append(time.perf_counter() - began)
    return tally


def _direct_process(
    url: str,
    plan: ClientPlan,
    today_iso: str,
    api_work: bool,
    ready: Any,
    go: Any,
    start_value: Any,
    seconds: float,
    results: Any,
) -> None:
    """A direct caller in a process of its own (a spawned process: no shared connections)."""
    try:
        app = build_application(Settings(database_url=url))
        app.check_ready()
    except Exception as error:
        ready.put(f"process {plan.index} could not start: {type(error).__name__}: {error}")
        return
    try:
        ready.put(os.getpid())
        go.wait()
        start_at = start_value.value
        tally = run_direct_client(
            app, plan, date.fromisoformat(today_iso), start_at, start_at + seconds, api_work
        )
        results.put((plan.index, tally))
    except BaseException as error:  # report, never hang the parent
        tally = Tally()
        tally.error(f"process {plan.index}: {type(error).__name__}: {error}")
        results.put((plan.index, tally))
    finally:
        app.close()


# --- HTTP callers --------------------------------------------------------------------------


class HttpClient:
    """One client connection (http.client), kept alive while the server keeps it (http.client
    reconnects when an answer says `Connection: close`); a dropped connection is retried once
    (the Idempotency-Key makes that safe)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Bearer {token}"
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.reconnects = 0

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPResponse, bytes]:
        all_headers = {"Authorization": self.auth, "Accept": "application/json"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.conn.close()
                    self.reconnects += 1
                return response.status, response, data
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def read_version(self, case_id: str) -> int:
        """An ETag read: GET the case, answer the version its ETag names."""
        status, response, data = self.request("GET", f"/api/cases/{case_id}")
        if status != 200:
            raise RuntimeError(f"GET case {case_id}: {status} {data[:200]!r}")
        return int(response.getheader("ETag", "").strip('W/"'))

    def close(self) -> None:
        self.conn.close()


def http_command(
    client: HttpClient, op: Op, today: date, versions: dict[str, int], tally: Tally, count: bool
) -> bool:
    """Send one command with every API feature on; re-read and retry on 412/409."""
    path, body = http_form(op, today)
    raw = json.dumps(body).encode()
    key = uuid4().hex  # one key per command; its retries reuse it, as a client should
    for _ in range(MAX_RETRIES):
        headers = {"Idempotency-Key": key}
        if op.case_id is not None:
            headers["If-Match"] = f'"{versions[op.case_id]}"'
        status, response, data = client.request("POST", path, raw, headers)
        if status in (200, 201):
            if op.case_id is not None:
                versions[op.case_id] = int(response.getheader("ETag", "").strip('W/"'))
            return True
        if status in (409, 412) and op.case_id is not None:
            if count:
                if status == 412:
                    tally.stale_412 += 1
                else:
                    tally.conflict_409 += 1
            versions[op.case_id] = client.read_version(op.case_id)
            continue
        if count:
            tally.error(f"{op.kind}: HTTP {status} {data[:300]!r}")
        return False
    if count:
        tally.error(f"{op.kind}: still conflicting after {MAX_RETRIES} tries")
    return False


def run_http_closed(
    host: str, port: int, token: str, plan: ClientPlan, today: date, start_at: float, stop_at: float
) -> Tally:
    client = HttpClient(host, port, token)
    try:
        versions = {case_id: client.read_version(case_id) for case_id, _ in plan.cases}
        tally = Tally()
        ops = operations(plan)
        while True:
            now = time.time()
            if now >= stop_at:
                break
            op = next(ops)
            began = time.perf_counter()
            ok = http_command(client, op, today, versions, tally, count=now >= start_at)
            if ok and now >= start_at and time.time() <= stop_at:
                tally.commands += 1
                tally.by_kind[op.kind] += 1
                tally.latencies.append(time.perf_counter() - began)
        return tally
    finally:
        client.close()


def run_http_open(
    host: str,
    port: int,
    token: str,
    plan: ClientPlan,
    today: date,
    t0: float,
    warmup: float,
    seconds: float,
    interval: float,
    offset: float,
) -> Tally:
    """Open loop: send at fixed scheduled times whatever the answers' speed; latency counts
    from the scheduled time, so a slow answer delays (and is charged to) the next ones too."""
    client = HttpClient(host, port, token)
    try:
        versions = {case_id: client.read_version(case_id) for case_id, _ in plan.cases}
        tally = Tally()
        ops = operations(plan)
        k = 0
        while True:
            scheduled = t0 - warmup + offset + k * interval
            k += 1
            if scheduled >= t0 + seconds:
                break
            delay = scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            measured = scheduled >= t0
            if measured and time.time() - scheduled > 0.001:
                tally.late_starts += 1
            op = next(ops)
            ok = http_command(client, op, today, versions, tally, count=measured)
            if ok and measured:
                done = time.time()
                tally.commands += 1
                tally.by_kind[op.kind] += 1
                tally.latencies.append(done - scheduled)
                tally.scheduled.append(scheduled)
                tally.last_done = max(tally.last_done, done)
        return tally
    finally:
        client.close()


# --- measuring CPU -------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def process_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (all their threads)."""
    total = 0.0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and int(fields[1]) == parent:
                found.append(int(entry))
    return found


APP_NAME = "forebyg-bench"  # PGAPPNAME (libpq) of every connection the benchmark and its server open


def postgres_pids(base_url: str) -> tuple[list[int], list[int]]:
    """The PostgreSQL backends serving this benchmark (by application_name), and the server's
    background processes (WAL writer, checkpointer, ...), which work for whoever writes."""
    import psycopg

    with psycopg.connect(
        base_url.split("?", maxsplit=1)[0],
        autocommit=True,
        connect_timeout=5,
        application_name=f"{APP_NAME}-monitor",
    ) as conn:
        rows = conn.execute("SELECT pid, application_name, backend_type FROM pg_stat_activity").fetchall()
    ours = [int(pid) for pid, name, kind in rows if name == APP_NAME and kind == "client backend"]
    background = [int(pid) for pid, _name, kind in rows if kind != "client backend"]
    return ours, background


def machine_cpu() -> tuple[float, float]:
    """Busy CPU seconds of the whole machine (all cores) since boot — user, nice, system, irq,
    softirq; idle, iowait and steal excluded — and the softirq part of it (loopback TCP)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, softirq / CLOCK_TICKS


def machine_busy(seconds: float = 1.0) -> float:
    """The share of all cores busy over the next `seconds`."""
    before, _ = machine_cpu()
    time.sleep(seconds)
    after, _ = machine_cpu()
    return (after - before) / seconds / (os.cpu_count() or 1)


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (up to max_wait seconds) until other work on the machine stops; answers the busy
    share last seen. The benchmark's own server and database are idle between phases."""
    deadline = time.time() + max_wait
    busy = machine_busy()
    announced = False
    while busy > threshold and time.time() < deadline:
        if not announced:
            print(
                f"  (machine {busy:.0%} busy with other work; waiting up to {max_wait:g} s for quiet)",
                flush=True,
            )
            announced = True
        busy = machine_busy(2.0)
    return busy


@dataclass
class CpuSample:
    bench: float
    app: float
    pg_ours: float
    pg_background: float
    machine: float
    softirq: float

    @classmethod
    def take(cls, app_pids: list[int], pg_ours: list[int], pg_background: list[int]) -> CpuSample:
        machine, softirq = machine_cpu()
        return cls(
            bench=process_cpu([os.getpid()]),
            app=process_cpu(app_pids),
            pg_ours=process_cpu(pg_ours),
            pg_background=process_cpu(pg_background),
            machine=machine,
            softirq=softirq,
        )


@dataclass
class PhaseResult:
    name: str
    seconds: float
    tally: Tally
    cpu: dict[str, float]  # CPU seconds spent in the window, by whom
    elapsed: float | None = None  # open loop: until the last answer (the rate's denominator)

    @property
    def rate(self) -> float:
        return self.tally.commands / (self.elapsed or self.seconds)

    @property
    def busy(self) -> float:
        return self.cpu.get("machine", 0.0) / self.seconds / (os.cpu_count() or 1)

    @property
    def other(self) -> float:
        return self.cpu.get("other", 0.0) / self.seconds / (os.cpu_count() or 1)

    def percentile(self, q: float) -> float:
        values = sorted(self.tally.latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


def measure_cpu(
    app_pids: Callable[[], list[int]], base_url: str, start_at: float, stop_at: float
) -> dict[str, float]:
    """CPU seconds spent in the window [start_at, stop_at], by whom (run in its own thread)."""
    time.sleep(max(0.0, start_at - time.time() - 0.3))
    pids = app_pids()
    ours, background = postgres_pids(base_url)
    time.sleep(max(0.0, start_at - time.time()))
    before = CpuSample.take(pids, ours, background)
    checkpoints_before, wal_before = pg_counters(base_url)
    time.sleep(max(0.0, stop_at - time.time()))
    after = CpuSample.take(pids, ours, background)
    checkpoints_after, wal_after = pg_counters(base_url)
    cpu = {
        "client": after.bench - before.bench,
        "app": after.app - before.app,
        "pg backends": after.pg_ours - before.pg_ours,
        "pg background": after.pg_background - before.pg_background,
        "softirq": after.softirq - before.softirq,
    }
    machine = after.machine - before.machine
    # Whatever else ran: other people's processes, short-lived ones, kernel threads.
    cpu["other"] = machine - sum(cpu.values())
    cpu["machine"] = machine
    # Not CPU: PostgreSQL checkpoints begun, and WAL bytes written, in the window.
    cpu["checkpoints"] = checkpoints_after - checkpoints_before
    cpu["wal bytes"] = wal_after - wal_before
    return cpu


def pg_counters(base_url: str) -> tuple[int, int]:
    """PostgreSQL's count of checkpoints so far (a checkpoint's writes and fsyncs stall commits)
    and its WAL position in bytes."""
    import psycopg

    try:
        with psycopg.connect(
            base_url.split("?", maxsplit=1)[0],
            autocommit=True,
            connect_timeout=5,
            application_name=f"{APP_NAME}-monitor",
        ) as conn:
            row = conn.execute(
                "SELECT checkpoints_timed + checkpoints_req, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"
                " FROM pg_stat_bgwriter"
            ).fetchone()
    except Exception:  # PostgreSQL 17 keeps checkpoints in pg_stat_checkpointer
        return 0, 0
    return (int(row[0]), int(row[1])) if row else (0, 0)


def in_thread(target: Callable[[], Any]) -> Callable[[], Any]:
    """Run target in a thread; the returned function joins it and answers its result."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(target()), daemon=True)
    thread.start()

    def join() -> Any:
        thread.join()
        return box[0] if box else {}

    return join


# --- phases --------------------------------------------------------------------------------


def phase_direct_threads(
    app: Forebyg, plans: list[ClientPlan], today: date, args: argparse.Namespace
) -> PhaseResult:
    start_at = time.time() + args.warmup + 0.5
    stop_at = start_at + args.seconds
    cpu = in_thread(lambda: measure_cpu(lambda: [], args.database_url, start_at, stop_at))
    tallies: list[Tally] = []
    threads = [
        threading.Thread(
            target=lambda p=plan: tallies.append(run_direct_client(app, p, today, start_at, stop_at, False))
        )
        for plan in plans
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return PhaseResult(f"direct, {len(plans)} threads in 1 process", args.seconds, total, cpu())


def phase_direct_processes(
    url: str, plans: list[ClientPlan], today: date, args: argparse.Namespace, api_work: bool, name: str
) -> PhaseResult:
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_value = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(
            target=_direct_process,
            args=(url, plan, today.isoformat(), api_work, ready, go, start_value, args.seconds, results),
            daemon=True,
        )
        for plan in plans
    ]
    for proc in procs:
        proc.start()
    try:
        pids = [ready.get(timeout=120) for _ in procs]
        failed = [str(pid) for pid in pids if not isinstance(pid, int)]
        if failed:
            go.set()  # release the ones that started; they stop at once (start time 0 is past)
            raise RuntimeError("; ".join(failed))
        start_at = time.time() + args.warmup + 0.5
        start_value.value = start_at
        stop_at = start_at + args.seconds
        cpu = in_thread(lambda: measure_cpu(lambda: pids, args.database_url, start_at, stop_at))
        go.set()
        total = Tally()
        for _ in procs:
            _, tally = results.get(timeout=args.seconds + args.warmup + 120)
            total.merge(tally)
        return PhaseResult(name, args.seconds, total, cpu())
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()


def phase_http_closed(
    host: str,
    port: int,
    token: str,
    server_pids: Callable[[], list[int]],
    plans: list[ClientPlan],
    today: date,
    args: argparse.Namespace,
    workers: int,
) -> PhaseResult:
    start_at = time.time() + args.warmup + 0.5
    stop_at = start_at + args.seconds
    cpu = in_thread(lambda: measure_cpu(server_pids, args.database_url, start_at, stop_at))
    spies = (
        in_thread(lambda: record_py_spy(args.py_spy, server_pids, start_at, args.seconds))
        if args.py_spy
        else None
    )
    tallies: list[Tally] = []
    threads = [
        threading.Thread(
            target=lambda p=plan: tallies.append(
                run_http_closed(host, port, token, p, today, start_at, stop_at)
            )
        )
        for plan in plans
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if spies is not None:
        spies()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    name = f"HTTP, gunicorn {workers} workers x {THREADS} threads, {len(plans)} client threads"
    return PhaseResult(name, args.seconds, total, cpu())


def phase_http_open(
    host: str,
    port: int,
    token: str,
    server_pids: Callable[[], list[int]],
    plans: list[ClientPlan],
    today: date,
    args: argparse.Namespace,
) -> PhaseResult:
    n = len(plans)
    interval = n / args.rate  # each thread sends every `interval` seconds
    t0 = time.time() + args.warmup + 1.0
    cpu = in_thread(lambda: measure_cpu(server_pids, args.database_url, t0, t0 + args.seconds))
    tallies: list[Tally] = []
    threads = [
        threading.Thread(
            target=lambda p=plan, i=i: tallies.append(
                run_http_open(
                    host, port, token, p, today, t0, args.warmup, args.seconds, interval, i / args.rate
                )
            )
        )
        for i, plan in enumerate(plans)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    name = f"HTTP open loop, {args.rate:g} commands/s scheduled ({n} threads x {args.rate / n:g}/s)"
    # Achieved rate: the commands scheduled in the window over the time it took to answer them all.
    return PhaseResult(name, args.seconds, total, cpu(), elapsed=max(args.seconds, total.last_done - t0))


# --- profiling the server (optional: --py-spy DIR) ----------------------------------------

# Functions whose presence on a sampled stack says what a worker was doing (inclusive shares of
# the samples taken while it handled a request).
REQUEST = "handle_request (gunicorn/workers/gthread.py"
SPOTS = (
    ("gunicorn outside Flask: parse request, write response, access log", "!wsgi_app (flask/app.py"),
    ("  access log line", "Logger.access (gunicorn/glogging.py"),
    ("Flask app (everything inside the WSGI call)", "wsgi_app (flask/app.py"),
    ("  Flask/werkzeug outside the endpoint (routing, request/response objects)", "!endpoint (interfaces/"),
    ("  API endpoint (auth + command + answer)", "endpoint (interfaces/web/api.py"),
    ("    caller for the bearer token", "current_caller (interfaces/web/auth.py"),
    ("      server-side session look-up (SessionStore.resolve)", "resolve (application/sessions.py"),
    (
        "      account re-read (UserAccount from the cache, fast-forwarded)",
        "get_caller (application/users.py",
    ),
    ("    JSON body + marshmallow load", "_json_body (interfaces/web/api.py"),
    ("    answer: marshmallow dump + jsonify", "_present (interfaces/web/api.py"),
    ("    forum load for need-to-know (ForebygBase._forum)", "._forum (application/base.py"),
    ("    repository.get (cache + fast-forward), all aggregates", "get (eventsourcing/application.py"),
    ("      deepcopy of the cached aggregate", "deepcopy (copy.py"),
    ("      SELECT events newer than the cached version", "select_events (eventsourcing/postgres.py"),
    ("    decode stored events (mapper.to_domain_event)", "to_domain_event (eventsourcing/persistence.py"),
    ("    save (events + receipt, one transaction)", "save (eventsourcing/application.py"),
    ("      encode new events (mapper.to_stored_event)", "to_stored_event (eventsourcing/persistence.py"),
    (
        "      snapshot every 50th version (replays from the store)",
        "take_snapshot (eventsourcing/application.py",
    ),
    (
        "      INSERT (SET LOCAL, LOCK TABLE, NOTIFY, INSERT, COMMIT)",
        "insert_events (eventsourcing/postgres.py",
    ),
    ("    pool checkout pre-ping (an empty query each time)", "check_connection (psycopg_pool/pool.py"),
    ("    psycopg's Python side (send, receive, adapt)", "(psycopg/"),
    ("    isinstance() on typing.Protocol classes", "__instancecheck__ (typing.py"),
)


def _on_stack(stack: str, needle: str) -> bool:
    if needle.startswith("!"):  # inside the request but not inside this function
        return needle[1:] not in stack
    return needle in stack


def record_py_spy(
    directory: str, server_pids: Callable[[], list[int]], start_at: float, seconds: float
) -> None:
    """Sample every gunicorn worker with py-spy (raw collapsed stacks) during the window: only
    while it holds the GIL, so the samples show where its Python CPU goes."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    time.sleep(max(0.0, start_at - time.time()))
    workers = server_pids()[1:]  # not the master, which only supervises
    spies = [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--gil",  # only threads holding the GIL: Python CPU, not waiting on PostgreSQL
                "--format",
                "raw",
                "--output",
                str(out / f"worker-{pid}-{int(start_at)}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in workers
    ]
    for spy in spies:
        spy.wait(timeout=seconds + 60)


def summarize_py_spy(directory: str) -> str:
    """Where the workers' Python CPU went while they handled a request: which functions were on
    the sampled stacks, and which package the innermost frame was in. (Sampled with --gil: time
    blocked on PostgreSQL's answers is not in it.)"""
    stacks: Counter[str] = Counter()
    for path in Path(directory).glob("worker-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[stack] += int(count)
    everything = sum(stacks.values())
    requests = Counter({stack: n for stack, n in stacks.items() if REQUEST in stack})
    total = sum(requests.values())
    if not total:
        return "py-spy: no samples (is py-spy installed and allowed to attach?)"
    lines = [
        f"py-spy: {everything} samples of the gunicorn workers, {total} inside a request ({directory})",
        "  on the stack (share of the in-request samples):",
    ]
    for label, needle in SPOTS:
        if needle == "!endpoint (interfaces/":
            share = (
                sum(
                    n
                    for stack, n in requests.items()
                    if "wsgi_app (flask/app.py" in stack and "endpoint (interfaces/" not in stack
                )
                / total
            )
        else:
            share = sum(n for stack, n in requests.items() if _on_stack(stack, needle)) / total
        lines.append(f"    {share:6.1%}  {label}")
    leaves: Counter[str] = Counter()
    for stack, n in requests.items():
        frame = stack.rsplit(";", 1)[-1]
        where = frame[frame.find("(") + 1 : frame.rfind(":")] if "(" in frame else frame
        parts = where.split("/")
        package = parts[0] if parts[0] not in ("site-packages", "lib") else parts[1]
        leaves[package.removesuffix(".py")] += n
    lines.append("  innermost frame's module or package (self time, share of the in-request samples):")
    for package, n in leaves.most_common(12):
        lines.append(f"    {n / total:6.1%}  {package}")
    return "\n".join(lines)


# --- setup, server, teardown ---------------------------------------------------------------


def postgres_facts(base_url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(base_url.split("?", maxsplit=1)[0], connect_timeout=5) as conn:
        facts = {"version": str(conn.execute("SHOW server_version").fetchone()[0])}  # type: ignore[index]
        for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections"):
            facts[name] = str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
    return facts


def make_case_pool(
    app: Forebyg, forums: list[UUID], today: date, clients: int, per_client: int, seed: int
) -> list[ClientPlan]:
    """Fresh active cases, each with one open action and a random number (0-49) of earlier
    review schedulings, split among the callers. The earlier events spread the cases' versions,
    so their snapshots (every 50th version) fall at different times, as in a real store, instead
    of all together when cases born together reach version 50 in lockstep."""
    plans = []
    received = today - timedelta(days=30)
    rng = random.Random(seed)
    for c in range(clients):
        cases = []
        for k in range(per_client):
            forum_id = forums[(c + k) % len(forums)]
            case = app.refer_case(
                forum_id=forum_id,
                target_group="cross_over",
                referred_by=CHAIR,
                received_on=received,
                legal_basis="retsplejeloven_115",
                concern="Benchmark case: club staff report new contacts in an extremist milieu.",
                subject=Subject.parse("Bench Fiktivsen", "020209-4321", 2009),
            )
            app.assess_case(
                case.id,
                assessed_on=received + timedelta(days=2),
                decision="accept",
                risk_and_threat="Signs of identification with an extremist milieu; no concrete threat.",
                wellbeing_and_resilience="Attached to school; family willing to cooperate.",
                judgement="Accepted for the forum's preventive effort.",
            )
            action = app.agree_action(
                case.id,
                kind="mentor",
                description="Mentor from the mentor corps, weekly meetings",
                responsible_org=ACTION_OWNER,
                due_on=today + timedelta(days=30),
            )
            assert action.action_id is not None
            history = rng.randrange(50)
            if history:
                aggregate: Any = app.repository.get(case.id)
                for n in range(history):
                    aggregate.schedule_review(today + timedelta(days=30 + n), today)
                app.save(aggregate)
            cases.append((str(case.id), str(action.action_id)))
        plans.append(ClientPlan(c, tuple(cases), tuple(str(f) for f in forums), seed))
    return plans


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    argv: list[str]

    def pids(self) -> list[int]:
        return [self.proc.pid, *children_of(self.proc.pid)]

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


GC_PROBE = """\
# Written by bench/api_throughput.py --gc-probe (a probe, not product code): logs every cyclic
# garbage collection of 5 ms or more in this process.
import gc, os, time
_began = [0.0]
def _probe(phase, info):
    if phase == "start":
        _began[0] = time.perf_counter()
        return
    took = time.perf_counter() - _began[0]
    if took >= 0.005:
        with open(os.environ["FOREBYG_BENCH_GC_LOG"], "a") as log:
            log.write(f"{time.time():.4f} {os.getpid()} {info['generation']} {took:.4f}\\n")
gc.callbacks.append(_probe)
"""


def start_server(url: str, secret: str, workers: int, logdir: Path, gc_probe: bool = False) -> Server:
    port = free_port()
    env = dict(os.environ, FOREBYG_DATABASE_URL=url, FOREBYG_SECRET_KEY=secret, FOREBYG_PORT=str(port))
    if gc_probe:  # a sitecustomize module first on the server's path records its workers' GC pauses
        probe = logdir / "gcprobe"
        probe.mkdir()
        (probe / "sitecustomize.py").write_text(GC_PROBE)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe), env.get("PYTHONPATH", "")]))
        env["FOREBYG_BENCH_GC_LOG"] = str(logdir / "gc.log")
    script = Path(sys.executable).parent / "forebyg"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "interfaces.cli"]
    argv += ["serve", "--workers", str(workers)]
    log = logdir / "server.log"
    handle = log.open("wb")
    proc = subprocess.Popen(
        argv, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=PRODUCT, start_new_session=True
    )
    handle.close()
    server = Server(proc, port, log, argv)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"forebyg serve exited with {proc.returncode}:\n{server.tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            ready = conn.getresponse().status == 200
            conn.close()
            if ready and len(children_of(proc.pid)) >= workers:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"forebyg serve did not become ready:\n{server.tail()}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown of its workers
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)  # the server's own session, started above
            server.proc.wait(timeout=10)


def sign_in(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": COORDINATOR, "password": DEMO_PASSWORD})
    conn.request("POST", "/api/tokens", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"sign-in failed: {response.status} {data!r}")
    return str(json.loads(data)["token"])


# --- report --------------------------------------------------------------------------------


def slow_bursts(result: PhaseResult, t0: float, slow: float = GOAL_P99_MS / 1000, gap: float = 0.25) -> str:
    """Open loop: are the slow answers spread out (queueing) or bunched in bursts (a stall:
    a checkpoint, a lock queue, another process taking the CPU)?"""
    pairs = sorted(zip(result.tally.scheduled, result.tally.latencies, strict=True))
    slow_ones = [(at, latency) for at, latency in pairs if latency > slow]
    if not slow_ones:
        return f"no answer slower than {slow * 1000:g} ms"
    bursts: list[list[tuple[float, float]]] = [[slow_ones[0]]]
    for at, latency in slow_ones[1:]:
        if at - bursts[-1][-1][0] > gap:
            bursts.append([])
        bursts[-1].append((at, latency))
    bursts.sort(key=lambda b: -max(lat for _, lat in b))
    top = "; ".join(
        f"at {b[0][0] - t0:.1f} s: {len(b)} slow, up to {max(lat for _, lat in b) * 1000:.0f} ms"
        for b in bursts[:3]
    )
    return (
        f"{len(slow_ones)} answers slower than {slow * 1000:g} ms "
        f"in {len(bursts)} burst(s) (sends < {gap * 1000:g} ms apart); worst: {top}"
    )


def gc_pauses_report(logfile: Path, workers: list[int], result: PhaseResult) -> str:
    """Open loop with --gc-probe: the workers' GC pauses during the phase, and how many of its
    slow answers were in flight during one."""
    t = result.tally
    if not t.scheduled:
        return ""
    begin, end = min(t.scheduled), max(s + lat for s, lat in zip(t.scheduled, t.latencies, strict=True))
    pauses = []
    if logfile.exists():
        for line in logfile.read_text().splitlines():
            at, pid, generation, took = line.split()
            if int(pid) in workers and begin <= float(at) <= end:
                pauses.append((float(at) - float(took), float(at), int(generation)))
    if not pauses:
        return "    GC probe: no collection of 5 ms or more in the workers during the phase"
    slow = [(s, s + lat) for s, lat in zip(t.scheduled, t.latencies, strict=True) if lat > GOAL_P99_MS / 1000]
    hit = sum(1 for a, b in slow if any(p0 < b and a < p1 for p0, p1, _ in pauses))
    longest = max(p1 - p0 for p0, p1, _ in pauses) * 1000
    full = sum(1 for *_, g in pauses if g == 2)
    return (
        f"    GC probe: {len(pauses)} collections of >= 5 ms in the workers during the phase "
        f"({full} full), longest {longest:.0f} ms; {hit} of {len(slow)} answers slower than "
        f"{GOAL_P99_MS:g} ms were in flight during one"
    )


def describe(result: PhaseResult) -> str:
    t = result.tally
    lines = [
        f"{result.name}",
        f"    {result.rate:8.1f} commands/s   ({t.commands} in {result.elapsed or result.seconds:.3g} s;"
        f" {', '.join(f'{k} {v}' for k, v in sorted(t.by_kind.items()))})",
        f"    latency ms  p50 {result.percentile(0.50):6.2f}  p95 {result.percentile(0.95):6.2f}"
        f"  p99 {result.percentile(0.99):6.2f}  max {result.percentile(1.0):6.2f}",
        f"    412 retried {t.stale_412}, 409 retried {t.conflict_409}, errors {t.errors}"
        + (f", sent late (> 1 ms after schedule) {t.late_starts}" if t.last_done else ""),
    ]
    if t.scheduled:
        lines.append("    " + slow_bursts(result, min(t.scheduled)))
    if t.commands and result.cpu:
        per = {k: v / t.commands * 1000 for k, v in result.cpu.items() if k not in NOT_CPU}
        lines.append("    CPU ms/command  " + "  ".join(f"{k} {v:.2f}" for k, v in per.items()))
        lines.append(
            f"    machine busy {result.busy:.0%} of {os.cpu_count()} cores;"
            f" other work (not this benchmark) {result.other:.0%};"
            f" PostgreSQL checkpoints begun {int(result.cpu.get('checkpoints', 0))},"
            f" WAL {result.cpu.get('wal bytes', 0) / max(1, t.commands) / 1024:.1f} KiB/command"
            + ("   <- NOISY: another workload shared the machine" if result.other > NOISY else "")
        )
    for sample in t.error_samples:
        lines.append(f"    error: {sample}")
    return "\n".join(lines)


def pooled(found: list[PhaseResult]) -> PhaseResult:
    """One phase's rounds in which other work stayed under NOISY, pooled: rates over the summed
    time, percentiles over all their latencies, CPU summed. If every round was noisy, all of them."""
    quiet = [r for r in found if r.other <= NOISY] or found
    if len(quiet) == 1:
        return quiet[0]
    tally = Tally()
    cpu: Counter[str] = Counter()
    for r in quiet:
        tally.merge(r.tally)
        cpu.update(r.cpu)
    seconds = sum(r.seconds for r in quiet)
    elapsed = sum(r.elapsed or r.seconds for r in quiet)
    name = f"{quiet[0].name} [{len(quiet)} of {len(found)} rounds pooled]"
    return PhaseResult(name, seconds, tally, dict(cpu), elapsed=elapsed)


def live(app: Forebyg | None) -> Forebyg:
    assert app is not None
    return app


def server_of(server: Server | None) -> Server:
    assert server is not None
    return server


def own_cpu_per_command(result: PhaseResult) -> float:
    """Milliseconds of CPU per command spent by this benchmark's own processes (client,
    application, its PostgreSQL backends and PostgreSQL's background writers, kernel network
    work): the cost of a command, much less sensitive to other work on the machine than a rate."""
    if not result.tally.commands:
        return float("nan")
    own = sum(v for k, v in result.cpu.items() if k not in (*NOT_CPU, "other"))
    return own / result.tally.commands * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="length of each measured phase (default 15)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each phase (default 2)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2 per core)")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop commands/s (default 200)")
    parser.add_argument(
        "--cases-per-client", type=int, default=8, help="cases each caller works on (default 8)"
    )
    parser.add_argument(
        "--demo-cases", type=int, default=200, help="cases of the demo municipality (default 200)"
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREBYG_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL base URL; a schema bench_<random> is created in it and dropped",
    )
    parser.add_argument("--skip-threads", action="store_true", help="skip the 8-threads direct comparison")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each phase, wait up to this long for other work on the machine to stop (default 60 s)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of all phases; each phase is then summarised by its quiet rounds, pooled (default 1)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="profile the gunicorn workers with py-spy during the closed-loop HTTP phase (slows it a little)",
    )
    parser.add_argument(
        "--gc-probe",
        action="store_true",
        help="record the gunicorn workers' garbage-collection pauses (a sitecustomize probe) and "
        "relate them to the open loop's slow answers",
    )
    args = parser.parse_args(argv)

    # Every connection this process, its direct-caller processes and the server open is named,
    # so its PostgreSQL backend's CPU can be told from other people's.
    os.environ["PGAPPNAME"] = APP_NAME
    cores = os.cpu_count() or 1
    workers = args.workers or 2 * cores
    schema = f"bench_{secrets.token_hex(4)}"
    # Two pooled connections per process, more on demand (a worker's threads, the 8-threads run),
    # so the run stays well under max_connections.
    url = with_schema(args.database_url, schema, pool_size=2)
    command_line = shlex.join([Path(sys.executable).name, *sys.argv]) if argv is None else shlex.join(argv)
    today = today_in_denmark()
    server: Server | None = None
    app: Forebyg | None = None
    print(f"Forebyg API throughput benchmark  (schema {schema}, {args.seconds:g} s per phase)", flush=True)
    try:
        pg = postgres_facts(args.database_url)
        settings = Settings(database_url=url)
        began = time.time()
        migrate(settings)
        app = build_application(settings)
        register_accounts(app)
        summary = build_demo(app, today=today, cases=args.demo_cases, seed=args.seed)
        forums = summary.forums
        print(
            f"setup: demo {len(forums)} forums / {len(summary.cases)} cases ({time.time() - began:.1f} s); "
            f"each phase gets {args.clients * args.cases_per_client} fresh active cases",
            flush=True,
        )
        logdir = Path(tempfile.mkdtemp(prefix="forebyg-bench-"))
        server = start_server(url, secrets.token_urlsafe(32), workers, logdir, gc_probe=args.gc_probe)
        worker_pids = children_of(server.proc.pid)
        token = sign_in(server.port)

        phases: dict[str, Callable[[list[ClientPlan]], PhaseResult]] = {
            "direct": lambda plans: phase_direct_processes(
                url, plans, today, args, False, f"direct, {args.clients} processes x 1 caller"
            ),
            "threads": lambda plans: phase_direct_threads(live(app), plans, today, args),
            "api-work": lambda plans: phase_direct_processes(
                url,
                plans,
                today,
                args,
                True,
                f"direct + the API's storage work (caller for the token, receipt), {args.clients} processes",
            ),
            "http": lambda plans: phase_http_closed(
                "127.0.0.1",
                server_of(server).port,
                token,
                server_of(server).pids,
                plans,
                today,
                args,
                workers,
            ),
            "open": lambda plans: phase_http_open(
                "127.0.0.1", server_of(server).port, token, server_of(server).pids, plans, today, args
            ),
        }
        if args.skip_threads:
            del phases["threads"]
        runs: dict[str, list[PhaseResult]] = {key: [] for key in phases}
        for round_ in range(args.repeat):
            for i, (key, phase) in enumerate(phases.items()):
                seed = args.seed + 100 * round_ + i
                plans = make_case_pool(live(app), forums, today, args.clients, args.cases_per_client, seed)
                # The client must not pause its threads to collect garbage mid-phase (the set-up
                # application's aggregate cache is large): everything alive now is frozen.
                gc.collect()
                gc.freeze()
                wait_for_quiet(args.quiet_wait)
                result = phase(plans)
                runs[key].append(result)
                prefix = f"[round {round_ + 1}/{args.repeat}] " if args.repeat > 1 else ""
                print(prefix + describe(result), flush=True)
                if args.gc_probe and key == "open":
                    print(gc_pauses_report(logdir / "gc.log", worker_pids, result), flush=True)
        # With repeats, each phase is summarised by its quiet rounds pooled (all rounds if none was).
        results = {key: pooled(found) for key, found in runs.items()}
        if args.repeat > 1:
            print("\npooled (the quiet rounds of each phase together):", flush=True)
            for result in results.values():
                print(describe(result), flush=True)
        if args.py_spy:
            print(summarize_py_spy(args.py_spy), flush=True)

        # The baseline is the faster of the two direct runs: the ratio must not be flattered by a
        # handicapped baseline.
        direct = max((results[k] for k in ("direct", "threads") if k in results), key=lambda r: r.rate)
        api = results["http"]
        ratio = api.rate / direct.rate if direct.rate else float("nan")
        cost_ratio = own_cpu_per_command(direct) / own_cpu_per_command(api)
        open_loop = results["open"]
        p99 = open_loop.percentile(0.99)
        print()
        print("=" * 78)
        print("SUMMARY")
        print(f"  command       {command_line}")
        print(f"  machine       {cores} cores ({cpu_model()}), {platform.platform()}")
        print(
            f"  software      Python {platform.python_version()}, PostgreSQL {pg['version']} "
            f"(fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}, "
            f"shared_buffers={pg['shared_buffers']}), {versions()}"
        )
        print(f"  product code  {PRODUCT} at {revision(PRODUCT, PRODUCT_DIRS)}")
        print(f"  mix           {', '.join(f'{k} {w}%' for k, w in MIX)}; caller {COORDINATOR} (coordinator)")
        print(f"  server        {shlex.join(server.argv)} -> gunicorn {workers} workers x {THREADS} threads")
        print(
            f"  phases        {args.seconds:g} s each after {args.warmup:g} s warm-up; "
            f"{args.clients} concurrent callers; {args.repeat} round(s)"
            + (", each phase's quiet rounds pooled" if args.repeat > 1 else "")
        )
        for key, label in (
            ("direct", "direct"),
            ("threads", "direct (thr.)"),
            ("api-work", "direct+API IO"),
            ("http", "HTTP"),
        ):
            if key in results:
                r = results[key]
                print(
                    f"  {label:<13} {r.rate:8.1f} commands/s   CPU {own_cpu_per_command(r):5.2f} ms/command"
                    f"   ({r.name})"
                )
                if args.repeat > 1:
                    every = ", ".join(f"{x.rate:.1f} (other {x.other:.0%})" for x in runs[key])
                    print(f"  {'':<13} all rounds: {every}")
        verdict = "meets" if ratio >= GOAL_RATIO else "MISSES"
        print(
            f"  ratio         HTTP / direct = {api.rate:.1f} / {direct.rate:.1f} = {ratio:.2f}"
            f"   (goal >= {GOAL_RATIO}: {verdict}; baseline: {direct.name.split(' (')[0]})"
        )
        print(f"  cost ratio    direct CPU per command / HTTP CPU per command = {cost_ratio:.2f}")
        if args.repeat > 1:
            # Each round's HTTP against the same round's direct run (a minute apart): the spread
            # says how far one figure can be trusted on this machine.
            base = (
                "direct" if direct.name.startswith("direct, ") and "threads" not in direct.name else "threads"
            )
            pairs = [
                h.rate / d.rate
                for d, h in zip(runs[base], runs["http"], strict=True)
                if d.other <= NOISY and h.other <= NOISY and d.rate
            ]
            if pairs:
                middle = sorted(pairs)[len(pairs) // 2]
                print(
                    f"  per round     HTTP / direct = {', '.join(f'{x:.2f}' for x in pairs)}"
                    f"   (median {middle:.2f}, quiet rounds only)"
                )
        verdict = "meets" if p99 <= GOAL_P99_MS else "MISSES"
        print(
            f"  open loop     {open_loop.rate:.1f} commands/s achieved of {args.rate:g} scheduled; "
            "latency ms "
            f"p50 {open_loop.percentile(0.5):.2f}  p95 {open_loop.percentile(0.95):.2f}  p99 {p99:.2f}"
            f"   (goal p99 <= {GOAL_P99_MS:g} ms: {verdict})"
        )
        errors = sum(r.tally.errors for r in results.values())
        retries = sum(r.tally.stale_412 + r.tally.conflict_409 for r in results.values())
        print(f"  errors        {errors}; 412/409 retries {retries}")
        noisy = [key for key, r in results.items() if r.other > NOISY]
        worst = max(r.other for r in results.values())
        print(
            f"  interference  other work used up to {worst:.0%} of the machine during a phase"
            + (
                f" — NOISY RUN ({'; '.join(noisy)}): rates are not reliable, re-run on a quiet machine"
                if noisy
                else ""
            )
        )
        print("=" * 78)
        return 0
    finally:
        if server is not None:
            stop_server(server)
        if app is not None:
            app.close()
        drop_schema_and_report(args.database_url, schema)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


PRODUCT_DIRS = ("application", "interfaces", "domain", "pyproject.toml")


def versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("eventsourcing", "psycopg", "Flask", "gunicorn"))


if __name__ == "__main__":
    sys.exit(main())
