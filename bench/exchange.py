"""Exchange benchmark: `forebyg import` and `forebyg export` against their baselines.

    python bench/exchange.py [--cases 20000] [--seed 2020] [--history]

A benchmark, not a test: it measures and prints, and never fails on a missed goal. In one run,
against PostgreSQL on this machine, in fresh schemas ``bench_<random>_*`` that it creates and
drops (always, in ``finally``), it

1. builds the demo municipality scaled up to ``--cases`` cases (application/demo.py, through the
   commands; with ``--history`` the 50-fact cases of bench/history.py) into an in-memory
   application, and exports it with a purpose to a file;
2. (a) baseline: saves the same aggregates directly into a fresh PostgreSQL schema — each
   forum's and case's events, sealed, one transaction per aggregate, no rule checked
   (``app.events.put``), the organisations first;
3. (b) imports the file into another fresh schema with ``forebyg import`` run as a child
   process (as an operator runs it): its wall time and its peak resident memory (the child's
   ``ru_maxrss``);
4. prints (a)/(b) as facts/s (goal >= 0.5) and the peak memory (goal <= 512 MiB);
5. (c) reads the imported store's whole log in pages (``select_notifications``, the raw read
   rate), then (d) exports it with a purpose (``export_lines``, every line checked against the
   schema, written to a file), and prints (d)/(c) in facts/s (goal >= 0.25); and (e) the same
   without a purpose (no personal field opened).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from application.accounts import Organisation  # noqa: E402
from application.app import Forebyg  # noqa: E402
from application.bootstrap import build_application, migrate  # noqa: E402
from application.demo import build_demo  # noqa: E402
from application.exchange import export_lines  # noqa: E402
from application.settings import Settings  # noqa: E402
from bench.history import generate_history  # noqa: E402
from bench.support import DEFAULT_DATABASE_URL, drop_schema_and_report, revision, with_schema  # noqa: E402
from domain.case import Case  # noqa: E402
from domain.forum import Forum  # noqa: E402

TODAY = date(2026, 6, 30)
IMPORT_GOAL, EXPORT_GOAL, MEMORY_GOAL_MIB = 0.5, 0.25, 512


def build_source(cases: int, seed: int, out: Path, *, history: bool = False) -> tuple[Forebyg, int]:
    began = time.perf_counter()
    source = Forebyg(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo", "AGGREGATE_CACHE_MAXSIZE": "5000"},
        clock=lambda: TODAY,
    )
    if history:  # 50 facts a case, as a long-lived store's (bench/history.py)
        generate_history(source, cases=cases, seed=seed)
    else:
        build_demo(source, today=TODAY, cases=cases, seed=seed)
    with open(out, "w", encoding="utf-8") as file:
        file.writelines(export_lines(source, purpose="benchmark", operator="bench"))
    with open(out, "rb") as lines:
        facts = sum(1 for _ in lines) - 2
    print(
        f"source: {'history' if history else 'demo'} with {cases} cases, {facts} facts,"
        f" {out.stat().st_size / 2**20:.1f} MiB file"
        f" ({time.perf_counter() - began:.1f} s to build and export)",
        flush=True,
    )
    return source, facts


def save_directly(source: Forebyg, settings: Settings) -> tuple[int, float]:
    """(a) The same aggregates' events saved straight into the store: one transaction each."""
    target = build_application(settings, clock=lambda: TODAY)
    try:
        ids: list[tuple[int, object]] = []
        for notification in source.recorder.select_notifications(None, 10**9):
            if notification.originator_version == 1:
                ids.append((notification.id, notification.originator_id))
        began = time.perf_counter()
        saved = 0
        for _, aggregate_id in ids:
            aggregate = source.repository.get(aggregate_id)  # type: ignore[arg-type]
            if not isinstance(aggregate, (Organisation, Forum, Case)):
                continue  # accounts and receipts are not in the file
            events = list(source.events.get(aggregate.id))
            if isinstance(aggregate, Case):
                target.keystore.register(aggregate.id, aggregate.subject_id)
            target.events.put(events)
            saved += len(events)
        return saved, time.perf_counter() - began
    finally:
        target.close()


def import_as_operator(file: Path, database_url: str) -> tuple[float, float, str]:
    """(b) `forebyg import FILE` in a child process: wall seconds, peak MiB, its last line."""
    env = {**os.environ, "FOREBYG_DATABASE_URL": database_url, "FOREBYG_SECRET_KEY": "bench"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "import", str(file)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    peak_kib = peak if peak > before else before
    return seconds, peak_kib / 1024, done.stdout.strip().splitlines()[-1]


def read_raw(app: Forebyg, page: int = 500) -> tuple[int, float]:
    last = app.recorder.max_notification_id() or 0
    position, count = 0, 0
    began = time.perf_counter()
    while position < last:
        rows = app.recorder.select_notifications(position, page, stop=last, inclusive_of_start=False)
        if not rows:
            break
        count += len(rows)
        position = rows[-1].id
    return count, time.perf_counter() - began


def export_timed(app: Forebyg, out: Path, purpose: str | None) -> tuple[int, float]:
    began = time.perf_counter()
    with open(out, "w", encoding="utf-8") as file:
        lines = 0
        for line in export_lines(app, purpose=purpose, operator="bench"):
            file.write(line)
            lines += 1
    return lines - 2, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--history",
        action="store_true",
        help="cases of 50 facts each (bench/history.py) instead of the demo's (about 7)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("FOREBYG_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    args = parser.parse_args(argv)
    base = args.database_url
    tag = f"bench_{secrets.token_hex(4)}"
    schemas = [f"{tag}_direct", f"{tag}_import"]
    print(f"revision {revision(REPO)}; python {platform.python_version()}; {os.cpu_count()} cores")
    shape = " --history" if args.history else ""
    print(f"command: python bench/exchange.py --cases {args.cases} --seed {args.seed}{shape}", flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "exchange.jsonl"
            source, facts = build_source(args.cases, args.seed, file, history=args.history)
            direct = Settings(database_url=with_schema(base, schemas[0]), secret_key="bench")
            imported = Settings(database_url=with_schema(base, schemas[1]), secret_key="bench")
            migrate(direct)
            migrate(imported)
            saved, direct_s = save_directly(source, direct)
            source.close()
            print(
                f"(a) saved directly: {saved} events in {direct_s:.1f} s = {saved / direct_s:,.0f} events/s"
            )
            import_s, peak_mib, said = import_as_operator(file, imported.database_url)
            print(f"(b) forebyg import: {facts} facts in {import_s:.1f} s = {facts / import_s:,.0f} facts/s")
            print(f"    it said: {said}")
            ratio = (facts / import_s) / (saved / direct_s)
            verdict = "met" if ratio >= IMPORT_GOAL else "NOT met"
            print(f"import / direct save = {ratio:.2f} (goal >= {IMPORT_GOAL}: {verdict})")
            verdict = "met" if peak_mib <= MEMORY_GOAL_MIB else "NOT met"
            print(f"import peak memory = {peak_mib:.0f} MiB (goal <= {MEMORY_GOAL_MIB} MiB: {verdict})")
            app = build_application(imported, clock=lambda: TODAY)
            try:
                read_raw(app)  # warm
                rows, raw_s = read_raw(app)
                exported, export_s = export_timed(app, Path(tmp) / "again.jsonl", "benchmark")
                plain, plain_s = export_timed(app, Path(tmp) / "plain.jsonl", None)
            finally:
                app.close()
            print(f"(c) raw log read: {rows} rows in {raw_s:.2f} s = {rows / raw_s:,.0f} rows/s")
            print(
                f"(d) export with --purpose: {exported} facts in {export_s:.2f} s"
                f" = {exported / export_s:,.0f} facts/s"
            )
            ratio = (exported / export_s) / (rows / raw_s)
            verdict = "met" if ratio >= EXPORT_GOAL else "NOT met"
            print(f"export / raw read = {ratio:.2f} (goal >= {EXPORT_GOAL}: {verdict})")
            print(
                f"(e) export without a purpose: {plain} facts in {plain_s:.2f} s"
                f" = {plain / plain_s:,.0f} facts/s"
            )
            ratio = (plain / plain_s) / (rows / raw_s)
            verdict = "met" if ratio >= EXPORT_GOAL else "NOT met"
            print(f"export without personal data / raw read = {ratio:.2f} (goal >= {EXPORT_GOAL}: {verdict})")
    finally:
        for schema in schemas:
            drop_schema_and_report(base, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
