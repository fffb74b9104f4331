"""`forebyg serve`: gunicorn, one application per worker built lazily in each worker (no
--preload: shared connections break), tables made beforehand by `forebyg migrate`."""

from __future__ import annotations

import os
import sys

from application.bootstrap import build_application
from application.settings import Settings

# The path without its query string (a read's `?purpose=` is personal context, kept out of
# operational logs), and no Referer (another page's URL, query included).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s "%(a)s"'

WORKER_CLASS = "interfaces.web.worker.BufferingWorker"
THREADS = 4


def gunicorn_argv(settings: Settings, workers: int | None, host: str) -> list[str]:
    cores = os.cpu_count() or 1
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{settings.port}",
        "--access-logfile",
        "-",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "--graceful-timeout",
        "20",
        "--no-control-socket",  # several servers on one host would share one control socket
        "--timeout",
        "60",
    ]
    if not settings.behind_tls_proxy:
        # gunicorn trusts X-Forwarded-* from loopback by default; only a configured TLS proxy
        # may say a request came over https (ProxyFix in create_app then reads its headers).
        argv += ["--forwarded-allow-ips", ""]
    # Threads serve whole requests only: the worker's event loop reads each request first (see
    # interfaces/web/worker.py), so slow clients cannot hold the threads. On SQLite one process,
    # the single writer; on PostgreSQL 2 per core.
    default_workers = 2 * cores if settings.uses_postgres else 1
    argv += ["--workers", str(workers or default_workers), "--worker-class", WORKER_CLASS]
    argv += ["--threads", str(THREADS)]
    return [*argv, "interfaces.web:create_app()"]


def serve(settings: Settings, *, workers: int | None, host: str) -> int:
    app = build_application(settings)
    try:
        app.check_ready()
    finally:
        app.close()
    print(
        f"Forebyg serves on http://{host}:{settings.port}/  (API: /api, OpenAPI: /api/openapi.json)",
        flush=True,
    )
    os.execv(sys.executable, gunicorn_argv(settings, workers, host))
    return 0  # pragma: no cover - execv does not return
