"""Helpers of the notification tests: settings pointing at a loopback SMTP server, an
aiosmtpd inbox that can refuse or delay, and a clock at a whole second (rendered e-mails show
whole seconds)."""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from support.dns import free_port
from support.store_env import Clock, settings_for

SENDER = "acme-ca@example.test"
WAIT_SECONDS = 20.0


def whole_second_clock() -> Clock:
    """A settable clock at the current whole second."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


def make_settings(db_url: str, overrides: dict | None = None) -> Any:
    return settings_for(db_url, overrides, external_url="https://acme.example.test")


def smtp_overrides(port: int, **extra: Any) -> dict:
    """notifications + smtp sections pointing at a loopback server without TLS."""
    smtp = {"enabled": True, "host": "127.0.0.1", "port": port, "use_tls": False,
            "from_address": SENDER, "timeout_seconds": 5}
    smtp.update(extra)
    return {"notifications": {"enabled": True}, "smtp": smtp}


# --- SMTP on loopback -------------------------------------------------------------------
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Inbox:
    """aiosmtpd handler that stores messages. It refuses the first `refuse_first` messages with
    `refuse_reply` (at DATA) and can hold each message `delay` seconds."""

    def __init__(self, *, refuse_first: int = 0, refuse_reply: str = "451 4.3.0 Try again later",
                 delay: float = 0.0) -> None:
        self.refuse_first = refuse_first
        self.refuse_reply = refuse_reply
        self.delay = delay
        self.refused = 0
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self.refused < self.refuse_first:
                self.refused += 1
                return self.refuse_reply
            raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")
            message = email.message_from_bytes(raw, policy=email.policy.default)
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[Received]:
        """Poll (bounded) until at least `count` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages within {timeout}s, got {len(self.messages)}")


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller


def start_smtp(inbox: Inbox, port: int | None = None, **controller_args: Any) -> SmtpServer:
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10,
                            **controller_args)
    controller.start()
    return SmtpServer(inbox, port, controller)
