"""`forebyg serve`: gunicorn, one application per worker built lazily in each worker (no
--preload: shared connections break), tables made beforehand by `forebyg migrate`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from application.bootstrap import build_application
from application.privacy.files import private_dir
from application.settings import Settings

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
    # JSON log lines (gunicorn's access log is off: the app writes one line per request, with
    # its URL rule rather than the path and query); a worker that exits is marked dead for
    # the metrics.
    argv += ["--config", "python:interfaces.web.gunicorn_hooks"]
    return [*argv, "interfaces.web:create_app()"]


def metrics_dir(settings: Settings) -> Path:
    """A fresh, private directory for the workers' metric files (prometheus_client's
    multiprocess mode): emptied at every start, so no figure of a past run is added in."""
    path = settings.data_dir / "metrics"
    if path.exists():
        shutil.rmtree(path)
    private_dir(settings.data_dir)
    return private_dir(path)


def serve(settings: Settings, *, workers: int | None, host: str) -> int:
    app = build_application(settings)
    try:
        app.check_ready()
    finally:
        app.close()
    print(
        f"Forebyg serves on http://{host}:{settings.port}/  (API: /api, OpenAPI: /api/openapi.json)\n"
        f"Its store: {settings.store_name}",
        flush=True,
    )
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(settings))
    os.umask(0o077)  # whatever the server and its libraries create is the owner's alone
    os.execv(sys.executable, gunicorn_argv(settings, workers, host))
    return 0  # pragma: no cover - execv does not return
