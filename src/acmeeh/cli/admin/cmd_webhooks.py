"""`webhooks`: subscriptions (the secret is printed once) and deliveries, dead letters
included (`deliveries --status dead`, then `retry`)."""
from __future__ import annotations

from acmeeh.store.webhooks import DeliveryStatus

from . import output
from .client import EXIT_OK, EXIT_USAGE, CliError
from .context import Context, removes, shows
from .output import Column, when
from .tree import Tree

EVENTS = ("certificate.issued", "certificate.revoked", "certificate.expiring", "order.invalid",
          "account.created", "account.deactivated", "maintenance.changed")
HOOK_COLUMNS: list[Column] = [("ID", "id"), ("URL", "url"), ("EVENTS", "events"),
                              ("ENABLED", "enabled"), ("DESCRIPTION", "description")]
HOOK_FIELDS: list[Column] = [("id", "id"), ("url", "url"), ("events", "events"),
                             ("enabled", "enabled"), ("description", "description"),
                             ("created by", "created_by"), ("created", "created_at"),
                             ("updated", "updated_at")]
DELIVERY_COLUMNS: list[Column] = [
    ("ID", "id"), ("EVENT", "event"), ("STATUS", "status"), ("ATTEMPTS", "attempts"),
    ("LAST ERROR", "last_error"), ("NEXT ATTEMPT", lambda d: when(d.get("next_attempt_at"))),
    ("CREATED", lambda d: when(d.get("created_at")))]
DELIVERY_FIELDS: list[Column] = [
    ("id", "id"), ("webhook", "webhook_id"), ("event", "event"), ("event id", "event_id"),
    ("status", "status"), ("attempts", "attempts"), ("next attempt", "next_attempt_at"),
    ("last HTTP status", "last_status"), ("last error", "last_error"),
    ("delivered", "delivered_at"), ("payload", "payload"), ("created", "created_at")]


def list_hooks(ctx: Context) -> int:
    return ctx.listing("listWebhooks", {}, HOOK_COLUMNS)


def create_hook(ctx: Context) -> int:
    body = {"url": ctx.opt("target"), "events": ctx.opt("event")}
    if ctx.opt("description"):
        body["description"] = ctx.opt("description")
    got = ctx.api.call("createWebhook", body=body)
    if ctx.json:
        output.as_json(got)
        return EXIT_OK
    output.fields(got, HOOK_FIELDS)
    print(f"secret: {got['secret']}")
    output.note("The secret is shown only this once: the receiver checks ACMEEH-Signature "
                "(HMAC-SHA256 of '<t>.' + body) with it.")
    return EXIT_OK


show_hook = shows("getWebhook", HOOK_FIELDS, webhook_id="id")


def update_hook(ctx: Context) -> int:
    body = {k: v for k, v in (("url", ctx.opt("target")), ("events", ctx.opt("event")),
                              ("description", ctx.opt("description")),
                              ("enabled", ctx.opt("enabled"))) if v is not None}
    if not body:
        raise CliError("nothing to change: give --target, --event, --description, "
                       "--enable or --disable", EXIT_USAGE)
    got = ctx.api.call("updateWebhook", params={"webhook_id": ctx.opt("id")}, body=body)
    return ctx.show(got, HOOK_FIELDS)


delete_hook = removes("deleteWebhook", "deleted", "webhook ", webhook_id="id")


def list_deliveries(ctx: Context) -> int:
    query = {"webhook_id": ctx.opt("webhook"), "status": ctx.opt("status"),
             "event": ctx.opt("event")}
    return ctx.listing("listWebhookDeliveries", query, DELIVERY_COLUMNS)


show_delivery = shows("getWebhookDelivery", DELIVERY_FIELDS, delivery_id="id")
retry_delivery = shows("retryWebhookDelivery", DELIVERY_FIELDS, delivery_id="id")


def register(tree: Tree) -> None:
    hooks = tree.group("webhooks", "webhook subscriptions and deliveries (dead letters: "
                       "deliveries --status dead)")
    hooks.command("list", list_hooks, ["listWebhooks"], "list subscriptions", paged=True)
    p = hooks.command("create", create_hook, ["createWebhook"],
                      "subscribe a URL to events; prints the signing secret once")
    p.add_argument("target", metavar="URL", help="http(s) URL the events are POSTed to")
    p.add_argument("--event", action="append", required=True, choices=EVENTS,
                   help="an event to send (repeatable)")
    p.add_argument("--description")
    hooks.command("show", show_hook, ["getWebhook"], "show a subscription").add_argument("id")
    p = hooks.command("update", update_hook, ["updateWebhook"],
                      "change URL, events or description; pause or resume")
    p.add_argument("id")
    p.add_argument("--target", metavar="URL", help="the new URL")
    p.add_argument("--event", action="append", choices=EVENTS,
                   help="the new event list (repeatable)")
    p.add_argument("--description")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    hooks.command("delete", delete_hook, ["deleteWebhook"],
                  "delete a subscription and its deliveries").add_argument("id")
    p = hooks.command("deliveries", list_deliveries, ["listWebhookDeliveries"],
                      "list deliveries", paged=True)
    p.add_argument("--webhook", metavar="ID")
    p.add_argument("--status", choices=tuple(DeliveryStatus))
    p.add_argument("--event", choices=EVENTS)
    hooks.command("delivery", show_delivery, ["getWebhookDelivery"],
                  "show a delivery with its payload and last error").add_argument("id")
    hooks.command("retry", retry_delivery, ["retryWebhookDelivery"],
                  "send a dead or failed delivery again now").add_argument("id")
