"""Operations: `maintenance`, `audit`, `notifications` and `crl`."""
from __future__ import annotations

import os
import sys

from acmeeh.store.outbox import FINISHED, NotificationStatus

from . import output
from .client import EXIT_OK, EXIT_USAGE, CliError
from .context import Context
from .output import Column, when
from .tree import Tree

AUDIT_COLUMNS: list[Column] = [("TIME", lambda e: when(e.get("created_at"))), ("ACTOR", "actor"),
                 ("ACTION", "action"), ("TARGET", "target"), ("OUTCOME", "outcome"),
                 ("FROM", "remote_addr")]
NOTE_COLUMNS: list[Column] = [("ID", "id"), ("KIND", "kind"), ("RECIPIENT", "recipient"),
                ("STATUS", "status"), ("ATTEMPTS", "attempts"), ("LAST ERROR", "last_error"),
                ("CREATED", lambda n: when(n.get("created_at")))]
NOTE_FIELDS: list[Column] = [("id", "id"), ("kind", "kind"), ("recipient", "recipient"),
               ("status", "status"), ("attempts", "attempts"),
               ("next attempt", "next_attempt_at"), ("last error", "last_error")]
MAINTENANCE_FIELDS: list[Column] = [("enabled", "enabled"), ("changed by", "changed_by"),
                      ("changed", "changed_at")]
CRL_FIELDS: list[Column] = [("status", "status"), ("number", "number"), ("this update", "this_update"),
              ("next update", "next_update"), ("entries", "entries")]
AUDIT_FILTERS = ("since", "until", "actor", "action", "outcome")


def maintenance_status(ctx: Context) -> int:
    return ctx.show(ctx.api.call("getMaintenance"), MAINTENANCE_FIELDS)


def maintenance_set(enabled: bool):  # noqa: ANN201 - a handler factory
    def handler(ctx: Context) -> int:
        got = ctx.api.call("setMaintenance", body={"enabled": enabled})
        return ctx.show(got, MAINTENANCE_FIELDS)
    return handler


def list_audit(ctx: Context) -> int:
    return ctx.listing("listAudit", {k: ctx.opt(k) for k in AUDIT_FILTERS}, AUDIT_COLUMNS)


def export_audit(ctx: Context) -> int:
    """Stream the export to a new file (0600: it names people and addresses) or stdout."""
    query = {"format": ctx.opt("format"), **{k: ctx.opt(k) for k in AUDIT_FILTERS}}
    target = ctx.opt("output")
    if target == "-":
        ctx.api.download("exportAudit", sys.stdout.buffer, query=query)
        sys.stdout.flush()
        return EXIT_OK
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if ctx.opt("force") else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise CliError(f"{target} exists (use --force to overwrite)", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"{target}: {exc.strerror}", EXIT_USAGE) from None
    try:
        with os.fdopen(fd, "wb") as sink:
            size = ctx.api.download("exportAudit", sink, query=query)
    except BaseException:
        os.unlink(target)
        raise
    output.note(f"wrote {target} ({size} bytes, {ctx.opt('format')})")
    return EXIT_OK


def list_notifications(ctx: Context) -> int:
    query = {k: ctx.opt(k) for k in ("status", "kind", "account_id")}
    return ctx.listing("listNotifications", query, NOTE_COLUMNS)


def retry_notifications(ctx: Context) -> int:
    if ctx.opt("failed") == bool(ctx.opt("id")):
        raise CliError("give a notification id or --failed (not both)", EXIT_USAGE)
    if ctx.opt("id"):
        got = ctx.api.call("retryNotification", params={"notification_id": ctx.opt("id")})
        return ctx.show(got, NOTE_FIELDS)
    got = ctx.api.call("retryFailedNotifications")
    return ctx.show(got, [("queued again", "queued")])


def purge_notifications(ctx: Context) -> int:
    body = {"statuses": ctx.opt("status") or [NotificationStatus.SENT, NotificationStatus.SKIPPED],
            "older_than_days": ctx.opt("older_than")}
    return ctx.show(ctx.api.call("purgeNotifications", body=body), [("deleted", "deleted")])


def crl_status(ctx: Context) -> int:
    return ctx.show(ctx.api.call("getCrlStatus"), CRL_FIELDS)


def crl_rebuild(ctx: Context) -> int:
    return ctx.show(ctx.api.call("rebuildCrl"), CRL_FIELDS)


def _audit_filters(parser) -> None:  # noqa: ANN001
    parser.add_argument("--since", metavar="RFC3339", help="events at or after")
    parser.add_argument("--until", metavar="RFC3339", help="events before")
    parser.add_argument("--actor", help="username")
    parser.add_argument("--action", help='an action ("user.create") or prefix ("user.*")')
    parser.add_argument("--outcome", choices=("success", "failure", "denied"))


def register(tree: Tree) -> None:
    maint = tree.group("maintenance", "maintenance mode: newOrder answers 503 on every instance")
    maint.command("status", maintenance_status, ["getMaintenance"], "is it on?")
    maint.command("on", maintenance_set(True), ["setMaintenance"], "pause new orders")
    maint.command("off", maintenance_set(False), ["setMaintenance"], "accept new orders again")

    audit = tree.group("audit", "the audit log of admin actions")
    _audit_filters(audit.command("list", list_audit, ["listAudit"], "query the audit log",
                                 paged=True))
    p = audit.command("export", export_audit, ["exportAudit"],
                      "export every matching event to a file (JSON lines or CSV)")
    _audit_filters(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="file to create (mode 0600), or - for standard output")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    notes = tree.group("notifications", "the e-mail notification outbox")
    p = notes.command("list", list_notifications, ["listNotifications"], "list notifications",
                      paged=True)
    p.add_argument("--status", choices=tuple(NotificationStatus))
    p.add_argument("--kind", help="e.g. certificate_issued, order_failed")
    p.add_argument("--account-id")
    p = notes.command("retry", retry_notifications,
                      ["retryNotification", "retryFailedNotifications"],
                      "send a failed or abandoned notification again (or --failed: all)")
    p.add_argument("id", nargs="?")
    p.add_argument("--failed", action="store_true",
                   help="every failed and abandoned notification")
    p = notes.command("purge", purge_notifications, ["purgeNotifications"],
                      "delete finished notifications (sent and skipped by default)")
    p.add_argument("--status", action="append", choices=FINISHED,
                   help="statuses to purge (repeatable)")
    p.add_argument("--older-than", type=int, default=0, metavar="DAYS",
                   help="only those last changed more than DAYS days ago (default 0: all)")

    crl = tree.group("crl", "the certificate revocation list")
    crl.command("status", crl_status, ["getCrlStatus"], "freshness of the newest CRL")
    crl.command("rebuild", crl_rebuild, ["rebuildCrl"], "build, sign and publish a new CRL now")
