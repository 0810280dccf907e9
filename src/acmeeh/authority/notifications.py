"""Notifications through an outbox: rows are written INSIDE the transaction of the event that
causes them (so a notification exists exactly when its event committed), and a worker
delivers them later (so a down mail server never fails an ACME request).

Statuses (store.outbox): pending → sent | failed → … → sent | abandoned; `skipped` when
smtp.enabled is false (recorded as an audit trail, never sent, also not after SMTP is enabled
later, so no stale mail floods out). notifications.enabled false records nothing at all.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .. import metrics
from ..config.settings import NotificationsSettings
from ..notify import Kind, MailError
from ..protocol.status import RevocationReason
from ..store import outbox
from ..store.db import Connection
from ..store.outbox import NotificationRow, NotificationStatus
from ..store.records import AccountRow, CertificateRow
from .env import Env
from .outboxes import Batch, backoff

MAILTO = "mailto:"


def recipients_of(account_or_contacts: AccountRow | Iterable[str] | None) -> list[str]:
    """Plain addresses from an account's (or a list of) `mailto:` contacts, deduplicated.

    Contacts were validated on the way in (authority.accounts.validate_contacts); anything
    that is not a mailto: URL is ignored here rather than failing the event.
    """
    if account_or_contacts is None:
        return []
    contacts = (account_or_contacts.contact if isinstance(account_or_contacts, AccountRow)
                else account_or_contacts)
    addresses: list[str] = []
    for contact in contacts or ():
        if isinstance(contact, str) and contact[: len(MAILTO)].lower() == MAILTO:
            address = contact[len(MAILTO):].strip()
            if address and address not in addresses:
                addresses.append(address)
    return addresses


def jsonable(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def jsonable_mapping(values: Mapping[str, object]) -> dict[str, object]:
    """`values` with every value made JSON-ready (jsonable)."""
    return {str(k): jsonable(v) for k, v in values.items()}


def enabled(env: Env, kind: Kind | str) -> bool:
    """Whether notifications of `kind` are recorded (notifications.enabled, disabled_types)."""
    cfg = env.settings.notifications
    return cfg.enabled and str(kind) not in cfg.disabled_types


def enqueue(
    conn: Connection,
    env: Env,
    kind: Kind | str,
    account_or_contacts: AccountRow | Iterable[str] | None,
    context: Mapping[str, Any],
    *,
    account_id: uuid.UUID | None = None,
) -> int:
    """Record `kind` for every mailto: contact, in the caller's transaction; return the rows.

    Nothing is recorded when notifications.enabled is false, `kind` is one of
    notifications.disabled_types, or there is no address. Raises
    ValueError for an unknown kind (a programming error, not a client's).
    """
    kind = Kind(kind)
    if not enabled(env, kind):
        return 0
    recipients = recipients_of(account_or_contacts)
    if not recipients:
        return 0
    if account_id is None and isinstance(account_or_contacts, AccountRow):
        account_id = account_or_contacts.id
    status = NotificationStatus.PENDING if env.settings.smtp.enabled else NotificationStatus.SKIPPED
    rows = outbox.insert_notifications(
        conn, kind=kind.value, recipients=recipients, account_id=account_id,
        context=jsonable_mapping(context), status=status, now=env.clock(),
    )
    env.log.debug("notification recorded", extra={"kind": kind.value, "rows": len(rows), "status": status})
    return len(rows)


def reason_name(code: int) -> str:
    """RFC 5280 §5.3.1 CRLReason name, e.g. 1 → "keyCompromise"."""
    try:
        words = RevocationReason(code).name.lower().split("_")
    except ValueError:
        return str(code)
    return words[0] + "".join(w.title() for w in words[1:])


def certificate_context(cert: CertificateRow) -> dict[str, Any]:
    """Template variables describing a certificate."""
    return {
        "certificate_id": cert.id, "serial": cert.serial, "names": list(cert.names),
        "not_before": cert.not_before, "not_after": cert.not_after,
    }


def revocation_context(cert: CertificateRow) -> dict[str, Any]:
    reason = cert.revocation_reason or 0
    return {**certificate_context(cert), "revoked_at": cert.revoked_at, "reason": reason_name(reason),
            "reason_code": reason}


# --- delivery (driven by acmeeh.workers.delivery) -------------------------------------------

def retry_at(settings: NotificationsSettings, attempts: int, now: datetime) -> datetime | None:
    """When to try again after failed attempt number `attempts` (1-based); None = abandon.

    delay = min(retry_delay × multiplier^(attempts-1), retry_max_delay); after max_retries
    retries (that is, max_retries + 1 attempts) the notification is abandoned.
    """
    if attempts > settings.max_retries:
        return None
    return backoff(now, attempts, first=settings.retry_delay_seconds,
                   multiplier=settings.retry_backoff_multiplier,
                   most=settings.retry_max_delay_seconds)


@dataclass
class DeliveryReport(Batch[NotificationRow]):
    stopped_early: bool = False  # the server was unusable; the rest of the batch waits


def deliver_due(
    env: Env, send: Callable[[NotificationRow], None], *, limit: int | None = None
) -> DeliveryReport:
    """Claim up to `limit` due rows (FOR UPDATE SKIP LOCKED) and call `send(row)` for each.

    The rows stay locked until their new status commits, so two deliverers never send the
    same row. A crash before the commit leaves them due: delivery is at least once. `send`
    raising marks the row failed (with backoff) or abandoned; a MailError with `connection`
    set (server unreachable, TLS or AUTH refused) also ends the batch.
    """
    cfg = env.settings.notifications
    report = DeliveryReport()
    with env.pool.connection() as conn, conn.transaction():
        rows = outbox.claim_due(conn, env.clock(), limit or cfg.batch_size)
        report.claimed = len(rows)
        for row in rows:
            try:
                send(row)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
                _record_failure(conn, env, row, exc, report)
                if isinstance(exc, MailError) and exc.connection:
                    report.stopped_early = True
                    break
                continue
            done = outbox.mark_sent(conn, row.id, env.clock())
            if done is not None:
                report.done.append(done)
    _count(report)
    return report


def _record_failure(conn: Connection, env: Env, row: NotificationRow, exc: Exception,
                    report: DeliveryReport) -> None:
    error = str(exc) if isinstance(exc, MailError) else f"{type(exc).__name__}: {exc}"
    now = env.clock()
    done = outbox.mark_failed(
        conn, row.id, error=error[:1000], now=now,
        next_attempt_at=retry_at(env.settings.notifications, row.attempts + 1, now),
    )
    if done is None:
        return
    report.failure(done, retried=done.status == NotificationStatus.FAILED, log=env.log,
                   message="notification delivery failed", notification_id=str(row.id),
                   kind=row.kind, attempts=done.attempts, status=done.status, error=error[:300])


def _count(report: DeliveryReport) -> None:
    # Counted after the commit, so a rolled-back batch counts nothing.
    for row in report.done:
        metrics.NOTIFICATIONS_SENT.labels(kind=row.kind).inc()
        if row.kind == Kind.EXPIRATION_WARNING:
            metrics.EXPIRATION_WARNINGS_SENT.inc()
    for row in (*report.failed, *report.given_up):
        metrics.NOTIFICATIONS_FAILED.labels(kind=row.kind).inc()
