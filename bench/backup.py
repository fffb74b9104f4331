"""Backup and restore benchmark: `forebyg backup` / `forebyg restore` vs pg_dump / pg_restore.

    python bench/backup.py [--cases 20000] [--events-per-case 50] [--repeat 2]

A benchmark, not a test: it measures and prints, and never fails on a missed goal. In one run,
against PostgreSQL on this machine, in a fresh schema ``bench_<random>`` that it creates and
drops (always, in ``finally``), it

1. migrates and records a synthetic history of ``--cases`` x ``--events-per-case`` events
   through the domain aggregates and ``app.save`` (bench/history.py; 20,000 x 50 is the
   1,000,000-event store of the operations issue);
2. times, ``--repeat`` times each, alternating, the fastest pass counting:
   (a) the baseline ``pg_dump --format=custom --schema=S`` of the same schema to a file;
   (b) ``application.backup.backup`` (the same pg_dump in an exported snapshot, the counts, the
       checksum and the archive);
   (c) the baseline restore: drop the schema, ``pg_restore --single-transaction`` of (a)'s file;
   (d) ``application.backup.restore(..., replace=True)`` of (b)'s file (the checks, setting the
       old schema aside, the same pg_restore, migrate, ending sessions, the ledger, catch-up);
3. prints (b)/(a) and (d)/(c) (goal for both: <= 1.2) and the file sizes.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from application.backup import backup, pg_environment, restore  # noqa: E402
from application.bootstrap import build_application, migrate  # noqa: E402
from application.settings import Settings  # noqa: E402
from bench.history import generate_history  # noqa: E402
from bench.support import DEFAULT_DATABASE_URL, drop_schema, drop_schema_and_report, revision, with_schema  # noqa: E402


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("FOREBYG_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--events-per-case", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    command_line = shlex.join([Path(sys.executable).name, *sys.argv]) if argv is None else shlex.join(argv)
    schema = f"bench_{secrets.token_hex(4)}"
    settings = Settings(database_url=with_schema(args.database_url, schema))
    work = Path(tempfile.mkdtemp(prefix="forebyg-bench-backup-"))
    print(f"Forebyg backup benchmark (schema {schema}): {args.cases} cases x {args.events_per_case} events")
    try:
        migrate(settings)
        writer = build_application(settings)
        stats = generate_history(writer, cases=args.cases, events_per_case=args.events_per_case)
        events = writer.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
        writer.workflow.catch_up()
        writer.close()
        print(f"history: {events} events in {stats.seconds:.1f} s", flush=True)
        env = pg_environment(settings)
        plain, ours = work / "plain.dump", work / "forebyg.backup"

        def pg_dump() -> None:
            command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--schema={schema}"]
            subprocess.run([*command, f"--file={plain}"], env=env, check=True)

        def pg_restore() -> None:
            drop_schema(args.database_url, schema)
            command = [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
            ]
            subprocess.run([*command, f"--dbname={env['PGDATABASE']}", str(plain)], env=env, check=True)

        dumps, backups, restores, ours_restores = [], [], [], []
        for _ in range(args.repeat):
            dumps.append(timed(pg_dump))
            backups.append(timed(lambda: backup(settings, ours)))
        for _ in range(args.repeat):
            restores.append(timed(pg_restore))
            ours_restores.append(timed(lambda: restore(settings, ours, replace=True)))
        a, b, c, d = min(dumps), min(backups), min(restores), min(ours_restores)
        print(f"(a) pg_dump            {a:7.2f} s  (passes: {', '.join(f'{t:.2f}' for t in dumps)})")
        print(f"(b) forebyg backup     {b:7.2f} s  (passes: {', '.join(f'{t:.2f}' for t in backups)})")
        print(f"(c) pg_restore         {c:7.2f} s  (passes: {', '.join(f'{t:.2f}' for t in restores)})")
        print(f"(d) forebyg restore    {d:7.2f} s  (passes: {', '.join(f'{t:.2f}' for t in ours_restores)})")
        print(
            f"sizes: pg_dump {plain.stat().st_size / 1e6:.1f} MB, backup {ours.stat().st_size / 1e6:.1f} MB"
        )
        print(f"backup / pg_dump = {b / a:.2f}  (goal <= 1.2)")
        print(f"restore / pg_restore = {d / c:.2f}  (goal <= 1.2)")
        print(f"revision {revision(REPO)}; load average at the end {os.getloadavg()[0]:.2f}; {command_line}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_schema_and_report(args.database_url, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
