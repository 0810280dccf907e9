"""`accounts`, `orders` and `authorizations`: search, show, deactivate an account."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import cmd_profiles, output
from .client import EXIT_OK
from .context import Context, shows
from .output import Column, when
from .tree import Tree


def _idents(order: Mapping[str, Any]) -> str:
    return ", ".join(i["value"] for i in order.get("identifiers", []))


ACCOUNT_COLUMNS: list[Column] = [("ID", "id"), ("STATUS", "status"), ("CONTACT", "contact"),
                   ("EAB KID", "eab_kid"), ("CREATED", lambda a: when(a.get("created_at")))]
ACCOUNT_FIELDS: list[Column] = [("id", "id"), ("status", "status"), ("contact", "contact"),
                  ("key thumbprint", "thumbprint"), ("terms agreed", "tos_agreed"),
                  ("eab kid", "eab_kid"), ("orders", "order_count"), ("created", "created_at"),
                  ("updated", "updated_at")]
ORDER_COLUMNS: list[Column] = [("ID", "id"), ("STATUS", "status"), ("IDENTIFIERS", _idents),
                 ("ACCOUNT", "account_id"), ("CREATED", lambda o: when(o.get("created_at")))]
ORDER_FIELDS: list[Column] = [("id", "id"), ("status", "status"), ("identifiers", _idents),
                ("account", "account_id"), ("expires", "expires"),
                ("certificate", "certificate_id"), ("replaces", "replaces"),
                ("error", "error"), ("created", "created_at"), ("updated", "updated_at")]
AUTHZ_COLUMNS: list[Column] = [("ID", "id"), ("IDENTIFIER", lambda a: a["identifier"]["value"]),
                 ("STATUS", "status"), ("ACCOUNT", "account_id"),
                 ("EXPIRES", lambda a: when(a.get("expires")))]
CHALLENGE_COLUMNS: list[Column] = [("CHALLENGE", "id"), ("TYPE", "type"), ("STATUS", "status"),
                     ("ATTEMPTS", "attempts"),
                     ("ERROR", lambda c: (c.get("error") or {}).get("detail"))]


def search_accounts(ctx: Context) -> int:
    query = {k: ctx.opt(k) for k in ("contact", "status", "thumbprint", "eab_kid")}
    return ctx.listing("listAccounts", query, ACCOUNT_COLUMNS)


show_account = shows("getAccount", ACCOUNT_FIELDS, account_id="id")
deactivate_account = shows("deactivateAccount", ACCOUNT_FIELDS, account_id="id")


def search_orders(ctx: Context) -> int:
    query = {k: ctx.opt(k) for k in ("account_id", "status", "identifier", "created_after",
                                     "created_before")}
    return ctx.listing("listOrders", query, ORDER_COLUMNS)


def _challenges(authzs: list[dict[str, Any]]) -> None:
    for authz in authzs:
        print(f"\nauthorization {authz['id']}: {authz['identifier']['value']} "
              f"({authz['status']})")
        output.table(authz.get("challenges", []), CHALLENGE_COLUMNS)


def show_order(ctx: Context) -> int:
    got = ctx.api.call("getOrder", params={"order_id": ctx.opt("id")})
    if ctx.json:
        output.as_json(got)
        return EXIT_OK
    output.fields(got, ORDER_FIELDS)
    _challenges(got.get("authorizations", []))
    return EXIT_OK


def search_authorizations(ctx: Context) -> int:
    query = {k: ctx.opt(k) for k in ("account_id", "status", "identifier")}
    return ctx.listing("listAuthorizations", query, AUTHZ_COLUMNS)


def show_authorization(ctx: Context) -> int:
    got = ctx.api.call("getAuthorization", params={"authz_id": ctx.opt("id")})
    if ctx.json:
        output.as_json(got)
        return EXIT_OK
    output.fields(got, [("id", "id"), ("identifier", lambda a: a["identifier"]["value"]),
                        ("status", "status"), ("account", "account_id"),
                        ("expires", "expires")])
    _challenges([got])
    return EXIT_OK


def register(tree: Tree) -> None:
    accounts = tree.group("accounts", "ACME accounts: search, show, deactivate")
    p = accounts.command("search", search_accounts, ["listAccounts"], "search accounts",
                         paged=True)
    p.add_argument("--contact", help="part of a contact URL (case-insensitive)")
    p.add_argument("--status", choices=("valid", "deactivated", "revoked"))
    p.add_argument("--thumbprint", help="RFC 7638 thumbprint of the account key")
    p.add_argument("--eab-kid", help="accounts bound to this EAB key")
    accounts.command("show", show_account, ["getAccount"], "show an account").add_argument("id")
    accounts.command("deactivate", deactivate_account, ["deactivateAccount"],
                     "deactivate a valid account for good").add_argument("id")
    cmd_profiles.register_in(accounts, "account")

    orders = tree.group("orders", "ACME orders: search, show with challenges")
    p = orders.command("search", search_orders, ["listOrders"], "search orders", paged=True)
    p.add_argument("--account-id")
    p.add_argument("--status", choices=("pending", "ready", "processing", "valid", "invalid"))
    p.add_argument("--identifier", help="an identifier value the order names")
    p.add_argument("--created-after", metavar="RFC3339")
    p.add_argument("--created-before", metavar="RFC3339")
    orders.command("show", show_order, ["getOrder"],
                   "show an order with its authorizations and challenges").add_argument("id")

    authzs = tree.group("authorizations", "ACME authorizations: search, show with challenges")
    p = authzs.command("search", search_authorizations, ["listAuthorizations"],
                       "search authorizations", paged=True)
    p.add_argument("--account-id")
    p.add_argument("--status", choices=("pending", "valid", "invalid", "deactivated",
                                        "expired", "revoked"))
    p.add_argument("--identifier", help='identifier value ("*.example.com" for a wildcard)')
    authzs.command("show", show_authorization, ["getAuthorization"],
                   "show an authorization with its challenges").add_argument("id")
