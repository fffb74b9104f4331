"""gunicorn server hooks for `forebyg serve` (loaded with `--config python:...`)."""

from __future__ import annotations

import os
from typing import Any

from interfaces.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig()  # every line JSON and redacted (interfaces/logs.py)


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges leave the figures (prometheus_client multiprocess)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
