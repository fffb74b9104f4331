"""Following the event log: catch up, wait for the next commit, repeat — through outages."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("forebyg.projections")


def follow(app: Any, stop: threading.Event, *, idle_timeout: float = 1.0, max_backoff: float = 10.0) -> None:
    """Keep the application's read models current until ``stop`` is set. On PostgreSQL a
    LISTEN connection wakes it as soon as events commit; on SQLite it polls. Any database
    error (a restart, a network cut) is logged and retried with backoff: catching up from the
    stored position afterwards loses and duplicates nothing."""
    backoff = 0.2
    channel = getattr(app.recorder, "channel_name", "")
    while not stop.is_set():
        try:
            applied = app.workflow.catch_up(resume=True)  # (finishes an interrupted rebuild)
            if applied:
                log.info("read models caught up: %d events", applied)
            app.read_store.wait_for_change(channel, idle_timeout)
            backoff = 0.2
        except Exception as error:  # the database may be restarting: wait and retry
            log.warning("read models: %s; retrying in %.1fs", error, backoff)
            app.reset_connections()
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
