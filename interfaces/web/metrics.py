"""`/metrics`: the Prometheus text format, for operators, behind a bearer token of its own.

Requests are counted by the URL *rule* that served them (`/api/cases/<uuid:case_id>`), never
by the path, so no case, subject, user or organisation ever becomes a label; an unknown path is
`unmatched`. Under gunicorn every worker writes its figures to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set up by `forebyg serve`)
and whichever worker is scraped adds them up. The store's own figures — events, projection lag,
reminders, erasures, the schedulers — are read from the store at scrape time
(`application.operations`), so they are the same whichever process is asked.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from application.operations import figures
from application.settings import Settings
from interfaces.web.api import forebyg
from interfaces.web.errors import problem

bp = Blueprint("metrics", __name__)

OWN = CollectorRegistry()  # this process's request figures (one process: served as they are)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})

REQUESTS = Counter(
    "forebyg_http_requests",
    "HTTP requests answered, by method, URL rule and status",
    ["method", "route", "status"],
    registry=OWN,
)
LATENCY = Histogram(
    "forebyg_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL rule",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=OWN,
)
COMMANDS = Counter(
    "forebyg_commands",
    "Commands (requests that change something), by endpoint and outcome",
    ["command", "outcome"],
    registry=OWN,
)
SIGN_IN_FAILURES = Counter(
    "forebyg_sign_in_failures",
    "Sign-ins refused: wrong or unknown credentials, or throttled",
    ["reason"],
    registry=OWN,
)


def outcome(status: int) -> str:
    """A command's outcome, named by the class of its answer."""
    if status < 400:
        return "recorded"
    if status in (401, 403):
        return "forbidden"
    if status == 404:
        return "not_found"
    if status in (409, 412, 428):
        return "conflict"
    if status < 500:
        return "refused"
    return "failed"


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    if request.endpoint == "metrics.scrape":
        return response
    started = g.get("metrics_started")
    method = request.method if request.method in METHODS else "OTHER"
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    status = response.status_code
    REQUESTS.labels(method, route, str(status)).inc()
    if started is not None:
        LATENCY.labels(method, route).observe(time.perf_counter() - started)
    if method not in READS and request.url_rule is not None and request.endpoint:
        COMMANDS.labels(request.endpoint, outcome(status)).inc()
        if request.endpoint == "tokens.create_token" and status in (401, 429):
            SIGN_IN_FAILURES.labels("throttled" if status == 429 else "rejected").inc()
    return response


def install(app: Flask) -> None:
    """Count every request the app answers, and serve `/metrics`."""
    app.before_request(_start)
    app.after_request(_observe)
    app.register_blueprint(bp)


class StoreFigures(Collector):
    """The store's figures, read when scraped."""

    def __init__(self, settings: Settings) -> None:
        self.interval = settings.scheduler_interval_seconds

    def collect(self) -> Iterator[Metric]:
        now = figures(forebyg(), scheduler_interval_seconds=self.interval)

        def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, documentation, value=value)

        def counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(name, documentation, value=value)

        yield gauge("forebyg_events", "Events in the log (its last notification id)", now.events)
        yield gauge(
            "forebyg_projection_position",
            "The last event the read models have applied",
            now.projection_position,
        )
        yield gauge(
            "forebyg_projection_lag_events",
            "Events recorded that the read models have not applied yet",
            now.projection_lag,
        )
        yield gauge(
            "forebyg_reminders_due", "Reminders due today or earlier, not yet sent", now.reminders_due
        )
        yield gauge("forebyg_reminders_sent", "Reminders the read model holds as sent", now.reminders_sent)
        yield counter(
            "forebyg_scheduler_reminders_delivered",
            "Reminders delivered by the running schedulers",
            now.reminders_delivered,
        )
        yield counter(
            "forebyg_scheduler_reminders_emailed",
            "Reminders e-mailed by the running schedulers",
            now.reminders_emailed,
        )
        yield counter(
            "forebyg_scheduler_dispatch_failures",
            "Scheduler ticks whose dispatch failed (retried at the next tick)",
            now.dispatch_failures,
        )
        schedulers = GaugeMetricFamily(
            "forebyg_schedulers",
            "Scheduler processes that ticked within three intervals, by state",
            labels=["state"],
        )
        schedulers.add_metric(["active"], now.schedulers_active)
        schedulers.add_metric(["standing_by"], now.schedulers_standing_by)
        yield schedulers
        if now.seconds_since_active_tick is not None:
            yield gauge(
                "forebyg_scheduler_seconds_since_active_tick",
                "Seconds since the active scheduler last ticked",
                now.seconds_since_active_tick,
            )
        erasures = CounterMetricFamily(
            "forebyg_erasures", "Keys destroyed: subjects' personal data, forum texts", labels=["kind"]
        )
        erasures.add_metric(["subject"], now.subjects_erased)
        erasures.add_metric(["forum_text"], now.texts_erased)
        yield erasures


def _registry(settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # every worker's files
    else:
        registry.register(_Own())
    registry.register(StoreFigures(settings))
    return registry


class _Own(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from OWN.collect()


@bp.get("/metrics")
def scrape() -> Any:
    settings: Settings = current_app.extensions["settings"]
    if not settings.metrics_token:
        return problem(404, "Not Found", "The requested URL was not found on the server.")
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {settings.metrics_token}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return problem(401, "Unauthorized", "The metrics token is missing or wrong.")
    return Response(generate_latest(_registry(settings)), mimetype=CONTENT_TYPE_LATEST)
