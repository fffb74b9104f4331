"""Where an API command's time goes: one caller, in one process, no network.

    python bench/profile_api.py [--commands N] [--cprofile]

Companion of bench/api_throughput.py (same schema handling, same command mix). For each way
of running the mix it prints, per command: SQL statements by kind, connection checkouts and
their pre-ping round trips, pipelined saves, and wall and CPU milliseconds (this process and
the PostgreSQL processes):

* ``direct``      the command on ``Forebyg`` with a caller and ``expected_version``;
* ``direct+api``  plus the API's storage work (caller for the token, receipt saved with the events);
* ``wsgi``        the whole Flask request through the WSGI test client (token check, JSON and
                  marshmallow, If-Match, Idempotency-Key, ETag) — everything but gunicorn and TCP.

With ``--cprofile`` it also prints the top functions of the ``wsgi`` run. It creates and drops its
own ``bench_<random>`` schema.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

# api_throughput.py is imported as a sibling module, so that product code put first on
# PYTHONPATH (which may have a bench package of its own) cannot hide it.
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import psycopg  # noqa: E402
from api_throughput import (  # noqa: E402
    APP_NAME,
    COORDINATOR,
    DEFAULT_DATABASE_URL,
    PRODUCT,
    ClientPlan,
    Op,
    api_session,
    api_storage_work,
    direct_call,
    drop_schema_and_report,
    http_form,
    make_case_pool,
    operations,
    postgres_pids,
    process_cpu,
    with_schema,
)

from application.app import Forebyg, today_in_denmark  # noqa: E402
from application.bootstrap import build_application, migrate  # noqa: E402
from application.demo import DEMO_PASSWORD, build_demo, register_accounts  # noqa: E402
from application.settings import Settings  # noqa: E402

DATABASE_URL = DEFAULT_DATABASE_URL


class SqlCounter:
    """Counts what the process sends to PostgreSQL, by patching psycopg's cursor."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.pipelines = 0
        self._originals: list[tuple[Any, str, Any]] = []

    @staticmethod
    def kind(query: Any, cursor: Any) -> str:
        text = query if isinstance(query, str) else query.as_string(cursor)
        words = text.strip().split()
        if not words:
            return "ping: the pool's pre-ping (empty query) on checkout"
        upper = text.upper()
        if upper.startswith("SELECT") and "SNAPSHOTS" in upper:
            return "SELECT snapshot"
        if upper.startswith("SELECT") and "MAX(" in upper:
            return "SELECT max(notification_id)"
        if upper.startswith("SELECT") and "ORIGINATOR_VERSION >" in upper:
            return "SELECT events after a version (cache fast-forward / after a snapshot)"
        if upper.startswith("SELECT"):
            return "SELECT " + " ".join(words[1:6])
        if words[0].upper() == "INSERT":
            return "INSERT snapshot" if "SNAPSHOTS" in upper else "INSERT events (one statement, unnest)"
        if words[0].upper() == "LOCK":
            return "LOCK TABLE events IN EXCLUSIVE MODE"
        return " ".join(words[:2]).upper()[:60]

    def install(self) -> None:
        counter = self

        def patch(owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
            original = getattr(owner, name)
            self._originals.append((owner, name, original))
            setattr(owner, name, wrap(original))

        def execute(original: Any) -> Any:
            def wrapper(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                counter.statements[counter.kind(query, cur)] += 1
                return original(cur, query, *args, **kwargs)

            return wrapper

        def executemany(original: Any) -> Any:
            def wrapper(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                counter.statements[counter.kind(query, cur)] += 1
                return original(cur, query, *args, **kwargs)

            return wrapper

        def pipeline(original: Any) -> Any:
            def wrapper(conn: Any, *args: Any, **kwargs: Any) -> Any:
                counter.pipelines += 1
                return original(conn, *args, **kwargs)

            return wrapper

        def transaction(original: Any) -> Any:
            def wrapper(conn: Any, *args: Any, **kwargs: Any) -> Any:
                counter.statements["BEGIN ... COMMIT (transaction)"] += 1
                return original(conn, *args, **kwargs)

            return wrapper

        patch(psycopg.Cursor, "execute", execute)
        patch(psycopg.Cursor, "executemany", executemany)
        patch(psycopg.Connection, "pipeline", pipeline)
        patch(psycopg.Connection, "transaction", transaction)

    def reset(self) -> None:
        self.statements.clear()
        self.pipelines = 0


@contextmanager
def measured(counter: SqlCounter, label: str, n: int) -> Iterator[None]:
    counter.reset()
    ours, background = postgres_pids(DATABASE_URL)
    pg_before = process_cpu(ours + background)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    yield
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    pg = process_cpu(ours + background) - pg_before
    print(f"\n{label}: {n} commands, one caller, sequential")
    print(
        f"  per command: wall {wall / n * 1000:.2f} ms, CPU this process {cpu / n * 1000:.2f} ms,"
        f" CPU postgres {pg / n * 1000:.2f} ms"
    )
    total = sum(counter.statements.values())
    print(f"  SQL per command: {total / n:.1f} statements (the save's are pipelined: about 2 round trips)")
    for kind, count in counter.statements.most_common():
        print(f"    {count / n:5.2f}  {kind}")


def run_direct(app: Forebyg, plan: ClientPlan, n: int, api_work: bool) -> None:
    today = today_in_denmark()
    caller = app.get_caller_by_username(COORDINATOR)
    assert caller is not None
    versions = {c: app.get_case(UUID(c), caller=caller)["version"] for c, _ in plan.cases}
    session = api_session(app, api_work)
    ops = operations(plan)
    for _ in range(n):
        op: Op = next(ops)
        idempotency = None
        if api_work:
            caller, idempotency = api_storage_work(app, session, caller, op, today)
        answer = direct_call(
            app, op, today, caller, versions.get(op.case_id) if op.case_id else None, idempotency
        )
        if op.case_id:
            versions[op.case_id] = answer.version


def run_wsgi(client: Any, token: str, plan: ClientPlan, n: int, versions: dict[str, int]) -> None:
    today = today_in_denmark()
    ops = operations(plan)
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(n):
        op = next(ops)
        path, body = http_form(op, today)
        headers = dict(auth, **{"Idempotency-Key": uuid4().hex})
        if op.case_id:
            headers["If-Match"] = f'"{versions[op.case_id]}"'
        response = client.post(path, data=json.dumps(body), headers=headers, content_type="application/json")
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{op.kind}: {response.status_code} {response.get_data()[:300]!r}")
        if op.case_id:
            versions[op.case_id] = int(response.headers["ETag"].strip('"'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=600, help="commands per mode (default 600)")
    parser.add_argument("--cprofile", action="store_true", help="print a cProfile of the wsgi run")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument(
        "--database-url", default=os.environ.get("FOREBYG_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    args = parser.parse_args()
    global DATABASE_URL
    DATABASE_URL = args.database_url
    os.environ["PGAPPNAME"] = APP_NAME
    schema = f"bench_{secrets.token_hex(4)}"
    url = with_schema(args.database_url, schema, pool_size=5)
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(32))
    today = today_in_denmark()
    print(f"product code {PRODUCT}; schema {schema}")
    app = None
    web_app = None
    try:
        migrate(settings)
        app = build_application(settings)
        register_accounts(app)
        forums = build_demo(app, today=today, cases=200).forums
        plans = make_case_pool(app, forums, today, 3, 8, 2020)
        counter = SqlCounter()
        counter.install()
        run_direct(app, plans[0], 50, False)  # warm up
        with measured(counter, "direct", args.commands):
            run_direct(app, plans[0], args.commands, False)
        with measured(counter, "direct+api (caller for the token, receipt saved)", args.commands):
            run_direct(app, plans[1], args.commands, True)

        from interfaces.web import create_app

        web_app = create_app(settings)
        client = web_app.test_client()
        reply = client.post("/api/tokens", json={"username": COORDINATOR, "password": DEMO_PASSWORD})
        token = reply.get_json()["token"]
        versions = {}
        for case_id, _ in plans[2].cases:
            got = client.get(f"/api/cases/{case_id}", headers={"Authorization": f"Bearer {token}"})
            versions[case_id] = int(got.headers["ETag"].strip('"'))
        run_wsgi(client, token, plans[2], 50, versions)  # warm up
        profiler = cProfile.Profile() if args.cprofile else None
        with measured(
            counter, "wsgi (Flask test client: the whole API request, no gunicorn/TCP)", args.commands
        ):
            if profiler:
                profiler.enable()
            run_wsgi(client, token, plans[2], args.commands, versions)
            if profiler:
                profiler.disable()
        if profiler:
            for sort in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(args.top)
                print(f"\ncProfile of the wsgi run, by {sort} (with profiling overhead):")
                print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])
        return 0
    finally:
        if web_app is not None:
            web_app.extensions["forebyg"].close()
        if app is not None:
            app.close()
        drop_schema_and_report(args.database_url, schema)


if __name__ == "__main__":
    sys.exit(main())
