"""E-mail over SMTP (FOREBYG_SMTP_URL=smtp://host:port)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import urlparse

from application.errors import ConfigurationError

SENDER = "forebyg@localhost"


class SmtpMailer:
    def __init__(self, url: str, sender: str = SENDER, timeout: float = 10.0) -> None:
        parts = urlparse(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError(f"FOREBYG_SMTP_URL: {url!r} is not smtp://host:port")
        self.host, self.port = parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls, self.sender, self.timeout = parts.scheme == "smtps", sender, timeout
        self.username, self.password = parts.username, parts.password

    def send(self, to: list[str], subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(body)
        client_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with client_class(self.host, self.port, timeout=self.timeout) as client:
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(message)


def mailer_for(url: str) -> SmtpMailer | None:
    return SmtpMailer(url) if url else None
