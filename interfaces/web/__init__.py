"""The web service: JSON API (and, later, the thin HTML UI). Built by `create_app`, never at import."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from application.app import Forebyg
from application.bootstrap import build_application
from application.errors import ConfigurationError
from application.privacy.files import SECRET_KEY, open_private, private_dir
from application.settings import Settings

MAX_BODY = 256 * 1024


def secret_key(settings: Settings) -> str:
    """The configured key; on the embedded store a generated one kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    if settings.uses_postgres:
        raise ConfigurationError("FOREBYG_SECRET_KEY is required with PostgreSQL (shared by all workers)")
    path = settings.data_dir / SECRET_KEY
    private_dir(settings.data_dir)
    with contextlib.suppress(FileExistsError), open_private(path, "x") as handle:
        handle.write(secrets.token_urlsafe(48))
    with open_private(path, "r") as handle:
        return str(handle.read()).strip()


def create_app(
    config: Settings | Mapping[str, str] | None = None,
    *,
    application: Forebyg | None = None,
    testing: bool = False,
) -> Flask:
    """The Flask app for this configuration (by default the process environment)."""
    from interfaces.web import (
        cases,
        followup,
        forums,
        health,
        metrics,
        openapi,
        privacy,
        requestlog,
        tokens,
        users,
    )
    from interfaces.web.errors import register_error_handlers
    from interfaces.web.headers import security_headers

    if config is None:
        config = os.environ
    settings = config if isinstance(config, Settings) else Settings.from_environ(config)
    # The application first: on a store never migrated it refuses before anything is written.
    forebyg = application or build_application(settings)
    try:
        key = secret_key(settings)
    except BaseException:
        if application is None:
            forebyg.close()
        raise
    app = Flask("forebyg")
    app.config.update(
        SECRET_KEY=key,
        MAX_CONTENT_LENGTH=MAX_BODY,
        JSON_SORT_KEYS=False,
        TESTING=testing,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="__Host-forebyg",
        PERMANENT_SESSION_LIFETIME=settings.sessions.absolute_seconds,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["forebyg"] = forebyg
    app.extensions["settings"] = settings
    register_error_handlers(app)
    metrics.install(app)
    requestlog.install(app)
    for blueprint in (
        tokens.bp,
        forums.bp,
        cases.bp,
        followup.bp,
        privacy.bp,
        users.bp,
        health.bp,
        openapi.bp,
    ):
        app.register_blueprint(blueprint)

    if settings.behind_tls_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.after_request
    def add_security_headers(response: Any) -> Any:
        for name, value in security_headers(secure=request.is_secure):
            response.headers.setdefault(name, value)
        return response

    return app
