"""Delivery worker (advisory lock 712005): sends due outbox notifications over SMTP.

Each batch claims rows with FOR UPDATE SKIP LOCKED (authority.notifications.deliver_due),
renders each row's template, sends it on one SMTP session per batch and records the outcome.
Only this worker talks to the mail server, so a down server never slows an ACME request.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from ..authority import notifications
from ..authority.env import Env
from ..notify import Mailer, Templates, build_message
from ..notify.mailer import MailSession
from ..store.outbox import NotificationRow

log = logging.getLogger("acmeeh.workers.delivery")

# Bound on batches per tick; a full backlog drains over several ticks.
MAX_BATCHES = 10


class Deliverer:
    """Builds messages from outbox rows and sends them. `mailer` and `templates` default to
    the ones the settings describe (tests inject their own)."""

    def __init__(self, env: Env, *, mailer: Mailer | None = None,
                 templates: Templates | None = None, max_batches: int = MAX_BATCHES) -> None:
        smtp = env.settings.smtp
        if smtp.enabled and not smtp.from_address:
            raise ValueError("smtp.from_address: required when smtp.enabled is true")
        self.env = env
        self.mailer = mailer or Mailer(smtp)
        self.templates = templates or Templates(smtp.templates_path)
        self.templates.check()  # a broken override fails at start-up, not at 3 a.m.
        self.max_batches = max_batches

    def message(self, row: NotificationRow) -> EmailMessage:
        """Render `row` into the message that goes out (raises TemplateError)."""
        context: dict[str, Any] = {
            **row.context,
            "kind": row.kind,
            "recipient": row.recipient,
            "server_url": self.env.settings.server.external_url,
            "notification_id": str(row.id),
        }
        rendered = self.templates.render(row.kind, context)
        sender = self.mailer.sender
        domain = sender.rpartition("@")[2] or "acmeeh.invalid"
        # The outbox id as Message-ID: a re-sent row (at-least-once) is recognisably the same mail.
        return build_message(rendered, sender=sender, recipient=row.recipient,
                             message_id=f"<{row.id}@{domain}>", date=self.env.clock())

    def tick(self) -> int:
        """Send due notifications, batch after batch (bounded); return how many were sent."""
        batch_size = self.env.settings.notifications.batch_size
        sent = failed = 0
        with self.mailer.session() as session:
            for _ in range(self.max_batches):
                report = notifications.deliver_due(self.env, lambda row: self._send(session, row),
                                                   limit=batch_size)
                sent += len(report.done)
                failed += len(report.failed) + len(report.given_up)
                if report.stopped_early or report.claimed < batch_size:
                    break
        if sent or failed:
            log.info("notifications: %d sent, %d failed", sent, failed)
        return sent

    def _send(self, session: MailSession, row: NotificationRow) -> None:
        session.send(self.message(row))


def make_tick(env: Env) -> Callable[[], int]:
    """The loop body for `env`: returns how many notifications were sent."""
    return Deliverer(env).tick
