"""The security headers of every answer: the Flask app's and those the gunicorn worker writes
itself (a malformed, oversized or too slow request never reaches Flask)."""

from __future__ import annotations

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
STRICT_TRANSPORT_SECURITY = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def security_headers(*, secure: bool) -> list[tuple[str, str]]:
    """The headers, with HSTS only on an answer that went out over https."""
    return [*SECURITY_HEADERS, *([STRICT_TRANSPORT_SECURITY] if secure else [])]
