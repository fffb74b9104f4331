"""Read-model rebuild benchmark: folding the whole log into the read models vs. reading it.

    python bench/rebuild.py [--cases 20000] [--events-per-case 50] [--profile]

A benchmark, not a test: it measures and prints, and never fails on a missed goal. In one run,
against PostgreSQL on this machine, in a fresh schema ``bench_<random>`` that it creates and
drops (always, in ``finally``), it

1. migrates, registers the demo accounts, and records a synthetic history of ``--cases`` cases
   x ``--events-per-case`` events through the domain aggregates and ``app.save`` (see
   bench/history.py: real events, saved ``--group`` cases per transaction, ``--active`` cases
   open at any time, so each case's events are interleaved with those of the others);
2. (a) baseline: reads the whole notification log in pages of ``--page-size``, twice each, with
   the library's ``app.recorder.select_notifications`` and as the projector reads it (plain
   rows), and takes the fastest pass of either as the raw read rate;
   (before (a), the fresh log is vacuumed, analysed and checkpointed, as a store that has
   lived a while would be, so that neither measurement pays for the generation's leftovers);
3. (b) rebuilds every read model with ``app.workflow.rebuild()`` on a freshly built application
   (a rebuild starts from no folded state), twice, the faster pass counting, as configured: on
   PostgreSQL a log this long is rebuilt in parts, one process per core (``--parts`` overrides);
   the CPU of this process, of the part processes and of the PostgreSQL server is reported;
4. (c) rebuilds again in this process alone (one part), while a light instrumentation of this
   process's objects (no product code is changed) accounts the wall time to reading, folding,
   row building + SQL writes, and commits; and checks that (b) and (c) wrote the same rows;
5. prints (b)/(a) in events/s (goal >= 0.25), and (c)/(a);
6. with ``--profile``, rebuilds once more under cProfile (one part) and prints the top functions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import re
import resource
import secrets
import shlex
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from application.app import Forebyg  # noqa: E402
from application.bootstrap import build_application, migrate  # noqa: E402
from application.demo import register_accounts  # noqa: E402
from application.readmodels import store as store_module  # noqa: E402
from application.readmodels.projector import WORKFLOW_TOPICS  # noqa: E402
from application.settings import Settings  # noqa: E402
from bench.history import HistoryStats, generate_history  # noqa: E402
from bench.support import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    drop_schema_and_report,
    revision,
    with_schema,
)

GOAL_RATIO = 0.25


# --- database helpers ----------------------------------------------------------------------


def table_facts(base_url: str, schema: str, events_table: str) -> dict[str, str]:
    import psycopg

    facts: dict[str, str] = {}
    with psycopg.connect(base_url.split("?", maxsplit=1)[0], connect_timeout=5) as conn:
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            facts[name] = str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
        table = f'"{schema}".{events_table}'
        row = conn.execute(
            f"SELECT pg_total_relation_size(%s), (SELECT count(*) FROM {table})", (table,)
        ).fetchone()
        assert row is not None
        facts["events_bytes"], facts["events_rows"] = str(row[0]), str(row[1])
        for table in ("board_cases", "board_actions", "reminders_due", "inbox"):
            count = conn.execute(f'SELECT count(*) FROM "{schema}".{table}').fetchone()
            facts[table] = str(count[0]) if count else "?"
    return facts


def settle(base_url: str, schema: str) -> None:
    """Bring the fresh log to the state of a store that has lived a while: vacuumed and
    analysed, its hint bits set, its pages written out — what autovacuum and the checkpointer
    would otherwise do during the measurements, charging one of them at random."""
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(base_url.split("?", maxsplit=1)[0], autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'VACUUM (ANALYZE) "{schema}".forebyg_events')
        conn.execute("CHECKPOINT")
    print(f"settled: VACUUM (ANALYZE) of the log and a CHECKPOINT, {time.perf_counter() - began:.1f} s")


def read_model_digest(base_url: str, schema: str) -> dict[str, str]:
    """Row count and an md5 of every read-model table's rows, in order."""
    import psycopg

    digest = {}
    with psycopg.connect(base_url.split("?", maxsplit=1)[0], connect_timeout=5) as conn:
        for table in ("board_forums", "board_cases", "board_actions", "reminders_due", "inbox"):
            row = conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{schema}\".{table} t"
            ).fetchone()
            digest[table] = str(row)
    return digest


class ServerCpu:
    """CPU time (user + system) of the PostgreSQL server's processes while it runs, from /proc:
    sampled every 0.1 s on a thread, so that backends which end in between (those of the part
    processes) are counted up to their last sample; '?' where there is no /proc."""

    def __init__(self) -> None:
        self.start = self._ticks()
        self.latest: dict[int, int] = dict(self.start or {})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if self.start is not None:
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.latest.update(self._ticks() or {})

    @staticmethod
    def _ticks() -> dict[int, int] | None:
        proc = Path("/proc")
        if not proc.exists():
            return None
        ticks = {}
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            if name.startswith("postgres"):
                fields = stat[stat.rindex(")") + 2 :].split()
                ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
        return ticks

    def seconds(self) -> str:
        if self.start is None:
            return "?"
        self._stop.set()
        self._thread.join()
        self.latest.update(self._ticks() or {})
        used = sum(t - self.start.get(pid, 0) for pid, t in self.latest.items())
        return f"{used / os.sysconf('SC_CLK_TCK'):.1f}"


# --- (a) the baseline: reading the log ---------------------------------------------------------


def raw_read(app: Forebyg, page: int, topics: list[str] | None = None) -> tuple[int, float]:
    last = app.recorder.max_notification_id() or 0
    position, count = 0, 0
    began = time.perf_counter()
    while position < last:
        notifications = app.recorder.select_notifications(
            start=position, limit=page, stop=last, topics=topics or (), inclusive_of_start=False
        )
        if not notifications:
            break
        count += len(notifications)
        position = notifications[-1].id
    return count, time.perf_counter() - began


def lean_read(app: Forebyg, page: int) -> tuple[int, float]:
    """The log read as the projector reads it on PostgreSQL: plain rows, no objects."""
    last = app.recorder.max_notification_id() or 0
    position, count = 0, 0
    began = time.perf_counter()
    while position < last:
        rows = app.workflow._page(position, page, last)
        if not rows:
            break
        count += len(rows)
        position = rows[-1][0]
    return count, time.perf_counter() - began


def read_and_decode(app: Forebyg, page: int) -> tuple[int, float]:
    last = app.recorder.max_notification_id() or 0
    position, count = 0, 0
    to_domain_event = app.mapper.to_domain_event
    began = time.perf_counter()
    while position < last:
        notifications = app.recorder.select_notifications(
            start=position, limit=page, stop=last, topics=sorted(WORKFLOW_TOPICS), inclusive_of_start=False
        )
        if not notifications:
            break
        for n in notifications:
            to_domain_event(n)
        count += len(notifications)
        position = notifications[-1].id
    return count, time.perf_counter() - began


# --- (b) the rebuild, with a wall-clock account of where it goes --------------------------------


class Account:
    """Exclusive wall time per phase, like a tiny profiler over a handful of calls: each wrapped
    call (a bound method replaced on an instance or, for the SQL cursor wrapper, on its class, for
    the duration of one measured run; no product code is changed) is charged the time spent in it
    minus the time spent in wrapped calls nested inside it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[str] = []
        self._mark = 0.0
        self._undo: list[Callable[[], None]] = []

    def _enter(self, label: str) -> None:
        now = time.perf_counter()
        if self._stack:
            self.seconds[self._stack[-1]] += now - self._mark
        self._stack.append(label)
        self.calls[label] += 1
        self._mark = now

    def _exit(self) -> None:
        now = time.perf_counter()
        self.seconds[self._stack.pop()] += now - self._mark
        self._mark = now

    def wrap(self, owner: Any, attribute: str, label: str | Callable[..., str]) -> None:
        """Charge calls of ``owner.attribute`` to ``label`` (or to ``label(*args)``)."""
        original = getattr(owner, attribute)
        enter, leave = self._enter, self._exit

        if isinstance(owner, type):

            def timed_method(this: Any, *args: Any, **kwargs: Any) -> Any:
                enter(label(*args) if callable(label) else label)
                try:
                    return original(this, *args, **kwargs)
                finally:
                    leave()

            setattr(owner, attribute, timed_method)
            self._undo.append(lambda: setattr(owner, attribute, original))
        else:

            def timed(*args: Any, **kwargs: Any) -> Any:
                enter(label(*args) if callable(label) else label)
                try:
                    return original(*args, **kwargs)
                finally:
                    leave()

            setattr(owner, attribute, timed)
            self._undo.append(lambda: delattr(owner, attribute))

    def wrap_context(self, owner: Any, attribute: str, label: str) -> None:
        """A context-manager factory: charged from entering to having exited, minus the wrapped
        calls in its body (so: pool checkout, BEGIN, COMMIT)."""
        original = getattr(owner, attribute)
        enter, leave = self._enter, self._exit

        stack = self._stack

        @contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            enter(f"{label} in {stack[-1]}" if stack else label)
            try:
                with original(*args, **kwargs) as value:
                    yield value
            finally:
                leave()

        setattr(owner, attribute, timed)
        self._undo.append(lambda: delattr(owner, attribute))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


def instrumented_rebuild(app: Forebyg) -> tuple[int, float, float, Account]:
    projector = app.workflow
    account = Account()
    projector.partitions = 1  # the account is of one process
    account.wrap(projector, "_apply_batch", "fold")
    account.wrap(app.recorder, "max_notification_id", "read")
    account.wrap(projector, "_decode", "decode")
    # Pages are read on the projector's prefetch thread, overlapping the fold: timed apart.
    reading = {"seconds": 0.0, "pages": 0}
    page = projector._page

    def timed_page(*args: Any) -> Any:
        began = time.perf_counter()
        try:
            return page(*args)
        finally:
            reading["seconds"] += time.perf_counter() - began
            reading["pages"] += 1

    projector._page = timed_page  # type: ignore[method-assign]
    account.wrap(projector, "_state_before", "state_before")
    account.wrap(app.repository, "get", "repository_get")
    account.wrap_context(app.read_store, "transaction", "transaction")
    keystore = getattr(app, "keystore", None)
    if keystore is not None:  # personal fields are opened with per-subject keys
        for name in ("key", "subject_of", "refresh"):
            if hasattr(keystore, name):
                account.wrap(keystore, name, "keystore")
    for model in projector.models:
        account.wrap(model, "apply", f"apply:{model.name}")
    rows: dict[str, int] = defaultdict(int)

    def statement(sql: str, params: Any = ()) -> str:
        words = sql.split()
        verb = words[0].upper()
        names = [w for w in words[1:] if w.upper() not in ("IF", "NOT", "EXISTS", "UNIQUE")]
        table = next(
            (
                w
                for i, w in enumerate(names[1:], 1)
                if names[i - 1].upper() in ("INTO", "FROM", "UPDATE", "TABLE", "INDEX")
            ),
            "?",
        )
        label = (
            "sql:DDL (drop/create tables, indexes)" if verb in ("CREATE", "DROP") else f"sql:{verb} {table}"
        )
        if verb in ("INSERT", "DELETE", "UPDATE") and params and isinstance(params[0], (list, tuple)):
            rows[label] += len(params)  # executemany: one statement per row
        else:
            rows[label] += 1
        return label

    def staged(table: str, columns: Any, copy_rows: Any) -> str:
        return f"sql:CREATE staging for {table}"

    def copied(table: str, columns: Any, copy_rows: Any) -> str:
        # COPY into a staging table (then INSERT … SELECT … ON CONFLICT), or straight in (new rows)
        staging = re.fullmatch(r"staging_(.+)_\d+", table)
        label = f"sql:COPY {staging.group(1)} via staging" if staging else f"sql:COPY {table} (new rows)"
        rows[label] += len(copy_rows)
        return label

    account.wrap(store_module._PgCursor, "executemany", statement)
    account.wrap(store_module._PgCursor, "execute", statement)
    account.wrap(store_module._PgCursor, "copy_into_staging", staged)
    account.wrap(store_module._PgCursor, "copy_into", copied)
    account.rows = rows  # type: ignore[attr-defined]
    account.reading = reading  # type: ignore[attr-defined]
    cpu0 = time.process_time()
    began = time.perf_counter()
    try:
        applied = projector.rebuild()
    finally:
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu0
        account.restore()
        del projector._page
    return applied, wall, cpu, account


def describe_account(account: Account, wall: float) -> list[str]:
    s = account.seconds
    applies = {k[len("apply:") :]: v for k, v in s.items() if k.startswith("apply:")}
    sql = {k[len("sql:") :]: v for k, v in s.items() if k.startswith("sql:")}
    rows = [
        ("max notification id", s["read"]),
        ("decode: forums', users' events, ReminderSent", s["decode"]),
        ("fold: parse JSON, case records, other aggregates", s["fold"] + s["state_before"]),
        ("repository.get (state not in the projector's cache)", s["repository_get"]),
        ("model.apply: building rows (Python)", sum(applies.values())),
        ("SQL: execute/executemany (psycopg + server)", sum(sql.values())),
        (
            "transactions: pool checkout, BEGIN, COMMIT",
            sum(v for k, v in s.items() if k.startswith("transaction")),
        ),
        ("key store (Python; its SQL and transactions above)", s["keystore"]),
    ]
    rest = wall - sum(v for _, v in rows)
    rows.append(("the rest (waiting for the next page, loop, GC)", rest))
    lines = [f"    {label:<54} {seconds:8.2f} s  {100 * seconds / wall:5.1f} %" for label, seconds in rows]
    reading = account.reading  # type: ignore[attr-defined]
    lines.append(
        f"    (reading the log on the prefetch thread, overlapped with the above: {reading['seconds']:.2f} s"
        f" in {reading['pages']} pages)"
    )
    transactions = {k: (v, account.calls[k]) for k, v in s.items() if k.startswith("transaction")}
    lines.append(
        "    transactions by caller: "
        + ", ".join(
            f"{k.replace('transaction in ', '') if ' in ' in k else 'top level'} {v:.2f} s / {n}"
            for k, (v, n) in transactions.items()
        )
    )
    lines.append("    SQL by statement (rows: statements sent, executemany one per row; COPY: rows copied):")
    written = account.rows  # type: ignore[attr-defined]
    small = 0.0
    for label, seconds in sorted(sql.items(), key=lambda kv: -kv[1]):
        if seconds < 0.002 * wall:
            small += seconds
            continue
        lines.append(f"      {label:<52} {seconds:8.2f} s  {written['sql:' + label]:>9} rows")
    lines.append(f"      {'(other statements)':<52} {small:8.2f} s")
    lines.append(
        "    row building per model: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(applies.items(), key=lambda kv: -kv[1]))
    )
    lines.append(
        f"    calls: {account.calls['fold']} batches, {account.calls['decode']} decodes, "
        f"{sum(v for k, v in account.calls.items() if k.startswith('sql:'))} execute/executemany calls, "
        f"{sum(account.rows.values())} rows sent, "  # type: ignore[attr-defined]
        f"{account.calls['repository_get']} repository.get"
    )
    return lines


# --- profile -------------------------------------------------------------------------------------


def profile_rebuild(app: Forebyg, top: int) -> str:
    app.workflow.partitions = 1
    profiler = cProfile.Profile()
    profiler.enable()
    began = time.perf_counter()
    applied = app.workflow.rebuild()
    wall = time.perf_counter() - began
    profiler.disable()
    out = io.StringIO()
    out.write(f"cProfile of a second rebuild: {applied} events in {wall:.1f} s under the profiler\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000, help="cases in the history (default 20000)")
    parser.add_argument("--events-per-case", type=int, default=50, help="events per case (default 50)")
    parser.add_argument("--group", type=int, default=100, help="cases saved per transaction (default 100)")
    parser.add_argument("--active", type=int, default=2000, help="cases open at any time (default 2000)")
    parser.add_argument(
        "--page-size", type=int, default=None, help="raw-read page (default: projector batch)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="set the projector's batch_size (default: as configured)"
    )
    parser.add_argument(
        "--parts", type=int, default=None, help="parts of the rebuild (b) (default: one per core)"
    )
    parser.add_argument("--profile", action="store_true", help="also profile a second rebuild with cProfile")
    parser.add_argument("--profile-top", type=int, default=35)
    parser.add_argument("--seed", type=int, default=2020)
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
    apps: list[Forebyg] = []
    load_at_start = os.getloadavg()[0]
    print(
        f"Forebyg read-model rebuild benchmark (schema {schema}): {args.cases} cases x "
        f"{args.events_per_case} events",
        flush=True,
    )
    try:
        migrate(settings)
        writer = build_application(settings)
        apps.append(writer)
        register_accounts(writer)

        def progress(stats: HistoryStats) -> None:
            if stats.saves % 2000 == 0:
                print(f"  ... {stats.cases} cases referred, {stats.events} events saved", flush=True)

        stats = generate_history(
            writer,
            cases=args.cases,
            events_per_case=args.events_per_case,
            group=args.group,
            active=args.active,
            seed=args.seed,
            progress=progress,
        )
        total = writer.recorder.max_notification_id() or 0
        print(
            f"history: {stats.cases} cases, {stats.case_events} case + {stats.forum_events} forum events "
            f"in {stats.saves} saves; log holds {total} notifications; "
            f"{stats.seconds:.1f} s ({stats.events / stats.seconds:,.0f} events/s)",
            flush=True,
        )
        writer.close()
        apps.remove(writer)
        settle(args.database_url, schema)

        app = build_application(settings)  # fresh: no warm caches from the generation
        apps.append(app)
        if args.batch_size:
            app.workflow.batch_size = args.batch_size  # an experiment: the projector's public knob
        page = args.page_size or app.workflow.batch_size
        passes = [raw_read(app, page) for _ in range(2)]
        raw_count, raw_seconds = min(passes, key=lambda p: p[1])
        library_rate = raw_count / raw_seconds
        print(
            f"(a) raw read:   {raw_count} notifications in {raw_seconds:.2f} s = {library_rate:,.0f} "
            f"events/s with the library's select_notifications (pages of {page}; passes "
            f"{', '.join(f'{s:.2f}' for _, s in passes)} s)",
            flush=True,
        )
        lean_passes = [lean_read(app, page) for _ in range(2)]
        lean_count, lean_seconds = min(lean_passes, key=lambda p: p[1])
        lean_rate = lean_count / lean_seconds
        print(
            f"                {lean_count} rows in {lean_seconds:.2f} s = {lean_rate:,.0f} events/s as plain"
            f" rows, as the projector reads the log"
            f" (passes {', '.join(f'{s:.2f}' for _, s in lean_passes)} s)",
            flush=True,
        )
        raw_rate = max(library_rate, lean_rate)  # the goal is measured against the faster read
        print(f"    baseline: the faster of the two, {raw_rate:,.0f} events/s", flush=True)
        big_count, big_seconds = raw_read(app, 10_000)
        print(f"    (pages of 10000: {big_count / big_seconds:,.0f} events/s)", flush=True)
        topic_count, topic_seconds = raw_read(app, page, sorted(WORKFLOW_TOPICS))
        decode_count, decode_seconds = read_and_decode(app, page)
        print(
            f"    read with the projector's topic filter: {topic_count / topic_seconds:,.0f} events/s; "
            f"read + decode: {decode_count / decode_seconds:,.0f} events/s",
            flush=True,
        )

        if args.parts:
            app.workflow.partitions = args.parts
        parts = app.workflow.partitions if app.workflow._can_partition() else 1
        parts = parts if total >= app.workflow.partition_from else 1
        rebuilds = []
        for _ in range(2):  # twice, like the raw read; the faster counts
            server = ServerCpu()
            cpu0, children0 = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            applied = app.workflow.rebuild()
            wall = time.perf_counter() - began
            cpu = time.process_time() - cpu0
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            parts_cpu = children.ru_utime + children.ru_stime - children0.ru_utime - children0.ru_stime
            rebuilds.append((wall, applied, cpu, parts_cpu, server.seconds()))
        wall, applied, cpu, parts_cpu, server_cpu = min(rebuilds)
        rebuild_rate = applied / wall
        print(
            f"(b) rebuild:    {applied} events in {wall:.2f} s = {rebuild_rate:,.0f} events/s in {parts} "
            f"part(s) (passes {', '.join(f'{r[0]:.2f}' for r in rebuilds)} s; the faster pass's CPU: this "
            f"process {cpu:.1f} s, the other parts' processes {parts_cpu:.1f} s, PostgreSQL {server_cpu} s;"
            f" wall x cores {wall * (os.cpu_count() or 1):.1f} s)",
            flush=True,
        )
        rebuilt = read_model_digest(args.database_url, schema)

        single, single_wall, single_cpu, account = instrumented_rebuild(app)
        single_rate = single / single_wall
        same = read_model_digest(args.database_url, schema) == rebuilt
        print(
            f"(c) rebuild in this process alone: {single} events in {single_wall:.2f} s = "
            f"{single_rate:,.0f} events/s (its CPU {single_cpu:.1f} s = "
            f"{100 * single_cpu / single_wall:.0f} % of wall); the same rows as (b): "
            f"{'yes' if same else 'NO'}",
            flush=True,
        )
        print("    where (c)'s wall time went (instrumented run):")
        for line in describe_account(account, single_wall):
            print(line)
        facts = table_facts(args.database_url, schema, app.recorder.events_table_name)

        if args.profile:
            app2 = build_application(settings)
            apps.append(app2)
            if args.batch_size:
                app2.workflow.batch_size = args.batch_size
            print(profile_rebuild(app2, args.profile_top))

        ratio = rebuild_rate / raw_rate
        verdict = "meets" if ratio >= GOAL_RATIO else "MISSES"
        print()
        print("=" * 78)
        print("SUMMARY")
        print(f"  command       {command_line}")
        print(f"  product       git {revision(REPO)}")
        print(
            f"  machine       {os.cpu_count()} cores, {platform.platform()}, "
            f"Python {platform.python_version()}; load average at start {load_at_start:.1f}, "
            f"now {os.getloadavg()[0]:.1f} (other work shares the cores)"
        )
        print(
            f"  postgres      {facts['server_version']} (fsync={facts['fsync']}, "
            f"synchronous_commit={facts['synchronous_commit']}, shared_buffers={facts['shared_buffers']})"
        )
        print(
            f"  log           {facts['events_rows']} events, {int(facts['events_bytes']) / 2**20:,.0f} MiB "
            f"({stats.cases} cases x {args.events_per_case}, {stats.forum_events} forum events; "
            f"{args.group} cases/save, {args.active} open at a time)"
        )
        print(f"  generation    {stats.seconds:.1f} s = {stats.events / stats.seconds:,.0f} events/s")
        print(
            f"  read models   board_cases {facts['board_cases']}, board_actions {facts['board_actions']}, "
            f"reminders_due {facts['reminders_due']}, inbox {facts['inbox']}"
        )
        print(
            f"  (a) raw read  {raw_rate:12,.0f} events/s"
            f"  (library {library_rate:,.0f}, plain rows {lean_rate:,.0f})"
        )
        print(f"  (b) rebuild   {rebuild_rate:12,.0f} events/s  ({wall:.1f} s, {parts} part(s))")
        print(f"  (c) one part  {single_rate:12,.0f} events/s  ({single_wall:.1f} s, instrumented)")
        print(f"  ratio         (b)/(a) = {ratio:.3f}   (goal >= {GOAL_RATIO}: {verdict})")
        print(f"                (c)/(a) = {single_rate / raw_rate:.3f}; same rows: {'yes' if same else 'NO'}")
        print("=" * 78)
        return 0
    finally:
        for each in apps:
            with contextlib.suppress(Exception):
                each.close()
        drop_schema_and_report(args.database_url, schema)


if __name__ == "__main__":
    sys.exit(main())
