"""SMTP delivery with smtplib: STARTTLS (RFC 3207) when `use_tls`, AUTH when `username`,
a timeout on every socket operation. The password is never logged nor put in an error."""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Self

from .templates import Rendered

log = logging.getLogger("acmeeh.notify")

# Refusals of one message; anything else (refused connection, timeout, TLS or AUTH failure,
# a dropped session) would fail every message of a batch alike. Note smtplib errors are OSErrors.
_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


class MailError(Exception):
    """A message was not accepted. `connection` is True when the server could not be used at
    all (so sending further messages now is pointless)."""

    def __init__(self, message: str, *, connection: bool) -> None:
        super().__init__(message)
        self.connection = connection


def describe(exc: BaseException) -> str:
    """A short, secret-free description of an SMTP failure (the server's reply when known)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = [f"{code} {_text(msg)}" for code, msg in exc.recipients.values()]
        return "recipient refused: " + "; ".join(replies)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(message: Any) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())[:500]


def build_message(
    rendered: Rendered,
    *,
    sender: str,
    recipient: str,
    message_id: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """A plain-text message (with an HTML alternative when rendered has one)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(date or datetime.now(UTC))
    if message_id:
        message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no vacation auto-replies
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    return message


class MailSession:
    """One SMTP connection reused for several messages; reopened after any failure."""

    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server; raises MailError."""
        try:
            if self._smtp is None:
                self._smtp = self._mailer.connect()
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            connection = not isinstance(exc, _MESSAGE_ERRORS)
            raise MailError(describe(exc), connection=connection) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Mailer:
    """Sends through the `smtp` settings section. `ssl_context` defaults to the system trust
    store with hostname checks (tests pass their own CA)."""

    def __init__(self, smtp: Any, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.smtp = smtp
        self._ssl_context = ssl_context

    @property
    def sender(self) -> str:
        return self.smtp.from_address or ""

    def connect(self) -> smtplib.SMTP:
        """Connect, EHLO, STARTTLS and log in as configured. Raises smtplib/OS errors."""
        cfg = self.smtp
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        try:
            client.ehlo()
            if cfg.use_tls:
                context = self._ssl_context or ssl.create_default_context()
                client.starttls(context=context)
                client.ehlo()  # RFC 3207 §4.2: forget what was learned before TLS
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
        except BaseException:
            client.close()
            raise
        log.debug("smtp session open", extra={"smtp_host": cfg.host, "smtp_port": cfg.port})
        return client

    def session(self) -> MailSession:
        return MailSession(self)

    def send(self, message: EmailMessage) -> None:
        """Send one message on its own connection; raises MailError."""
        with self.session() as session:
            session.send(message)

    def check(self) -> None:
        """Connect, log in and say NOOP (health check); raises MailError."""
        try:
            client = self.connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(describe(exc), connection=True) from None
        try:
            client.noop()
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
