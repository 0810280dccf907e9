"""`eab` (external account binding keys, RFC 8555 §7.3.4), `allowlists` (identifiers new
orders may name) and `blocked-keys` (keys refused everywhere, RFC 8555 §7.6)."""
from __future__ import annotations

from pathlib import Path

from . import cmd_profiles, output
from .client import EXIT_OK, EXIT_USAGE, CliError
from .context import Context, removes, shows
from .output import Column, when
from .tree import Tree

EAB_COLUMNS: list[Column] = [("KID", "kid"), ("LABEL", "label"), ("STATUS", "status"),
               ("ACCOUNT", "account_id"), ("CREATED BY", "created_by"),
               ("CREATED", lambda k: when(k.get("created_at")))]
EAB_FIELDS: list[Column] = [("kid", "kid"), ("label", "label"), ("status", "status"),
              ("account", "account_id"), ("used", "used_at"), ("revoked", "revoked_at"),
              ("created by", "created_by"), ("created", "created_at")]
ALLOW_COLUMNS: list[Column] = [("ID", "id"), ("SCOPE", "scope"), ("SCOPE ID", "scope_id"), ("KIND", "kind"),
                 ("VALUE", "value"), ("CREATED BY", "created_by")]
ALLOW_FIELDS: list[Column] = [("id", "id"), ("scope", "scope"), ("scope id", "scope_id"), ("kind", "kind"),
                ("value", "value"), ("created by", "created_by"), ("created", "created_at")]


BLOCKED_COLUMNS: list[Column] = [("SPKI SHA-256", "spki_sha256"), ("SOURCE", "source"),
                                 ("CREATED BY", "created_by"),
                                 ("CREATED", lambda k: when(k.get("created_at")))]
BLOCKED_FIELDS: list[Column] = [("spki sha-256", "spki_sha256"), ("source", "source"),
                                ("certificate", "certificate_id"), ("comment", "comment"),
                                ("created by", "created_by"), ("created", "created_at")]


def list_eab(ctx: Context) -> int:
    return ctx.listing("listEabKeys", {"status": ctx.opt("status")}, EAB_COLUMNS)


def create_eab(ctx: Context) -> int:
    """Print the kid and the HMAC key: the only time the HMAC key is shown."""
    body = {"label": ctx.opt("label")} if ctx.opt("label") else None
    got = ctx.api.call("createEabKey", body=body)
    if ctx.json:
        output.as_json(got)
        return EXIT_OK
    print(f"kid:      {got['kid']}")
    print(f"hmac key: {got['hmac_key']}")
    output.note("The HMAC key is shown only this once. Give both to the ACME client, e.g. "
                "certbot --eab-kid KID --eab-hmac-key KEY, or lego --eab --kid KID --hmac KEY.")
    return EXIT_OK


show_eab = shows("getEabKey", EAB_FIELDS, kid="kid")
revoke_eab = shows("revokeEabKey", EAB_FIELDS, kid="kid")


def list_allow(ctx: Context) -> int:
    query = {"scope": ctx.opt("scope"), "scope_id": ctx.opt("scope_id")}
    return ctx.listing("listAllowlistEntries", query, ALLOW_COLUMNS)


def add_allow(ctx: Context) -> int:
    body = {"scope": ctx.opt("scope"), "kind": ctx.opt("kind"), "value": ctx.opt("value")}
    if ctx.opt("scope_id"):
        body["scope_id"] = ctx.opt("scope_id")
    return ctx.show(ctx.api.call("addAllowlistEntry", body=body), ALLOW_FIELDS)


show_allow = shows("getAllowlistEntry", ALLOW_FIELDS, entry_id="id")


remove_allow = removes("removeAllowlistEntry", "removed", "allowlist entry ", entry_id="id")


def list_blocked(ctx: Context) -> int:
    return ctx.listing("listBlockedKeys", {}, BLOCKED_COLUMNS)


def block(ctx: Context) -> int:
    """Block a key named by its SPKI SHA-256 or given as a PEM public key file."""
    if bool(ctx.opt("spki_sha256")) == bool(ctx.opt("public_key")):
        raise CliError("give exactly one of --spki-sha256 and --public-key", EXIT_USAGE)
    body = {"comment": ctx.opt("comment")} if ctx.opt("comment") else {}
    if ctx.opt("spki_sha256"):
        body["spki_sha256"] = ctx.opt("spki_sha256")
    else:
        try:
            body["public_key"] = Path(ctx.opt("public_key")).read_text()
        except (OSError, UnicodeError) as exc:
            raise CliError(f"--public-key: {exc}", EXIT_USAGE) from None
    return ctx.show(ctx.api.call("blockKey", body=body), BLOCKED_FIELDS)


show_blocked = shows("getBlockedKey", BLOCKED_FIELDS, spki_sha256="spki_sha256")


unblock = removes("unblockKey", "unblocked", "", spki_sha256="spki_sha256")


def register(tree: Tree) -> None:
    eab = tree.group("eab", "external account binding keys (RFC 8555 §7.3.4)")
    eab.command("list", list_eab, ["listEabKeys"], "list keys (never their HMAC keys)",
                paged=True).add_argument("--status", choices=("unused", "used", "revoked"))
    eab.command("create", create_eab, ["createEabKey"],
                "create a key and print its kid and HMAC key once").add_argument(
        "--label", help="a note to recognise the key by (team, host)")
    eab.command("show", show_eab, ["getEabKey"], "show a key").add_argument("kid")
    eab.command("revoke", revoke_eab, ["revokeEabKey"],
                "revoke a key (no new account can use it)").add_argument("kid")
    cmd_profiles.register_in(eab, "eab")

    allow = tree.group("allowlists", "identifier allowlists enforced by newOrder")
    p = allow.command("list", list_allow, ["listAllowlistEntries"], "list entries", paged=True)
    p.add_argument("--scope", choices=("global", "eab", "account"))
    p.add_argument("--scope-id", help="the kid (eab) or account id (account)")
    p = allow.command("add", add_allow, ["addAllowlistEntry"], "add an entry")
    p.add_argument("--scope", choices=("global", "eab", "account"), default="global")
    p.add_argument("--scope-id", help="the kid (eab scope) or account id (account scope)")
    p.add_argument("--kind", choices=("name", "suffix"), required=True,
                   help="name: one identifier exactly; suffix: a dns name and all under it")
    p.add_argument("--value", required=True)
    allow.command("show", show_allow, ["getAllowlistEntry"], "show an entry").add_argument("id")
    allow.command("remove", remove_allow, ["removeAllowlistEntry"],
                  "remove an entry").add_argument("id")

    blocked = tree.group("blocked-keys", "keys refused at newAccount, keyChange and finalize")
    blocked.command("list", list_blocked, ["listBlockedKeys"], "list blocked keys", paged=True)
    p = blocked.command("block", block, ["blockKey"], "block a key")
    p.add_argument("--spki-sha256", help="SHA-256 of the key's SubjectPublicKeyInfo (hex)")
    p.add_argument("--public-key", metavar="FILE", help="the public key, PEM")
    p.add_argument("--comment", help="why (shown in the list)")
    blocked.command("show", show_blocked, ["getBlockedKey"], "show a blocked key").add_argument(
        "spki_sha256")
    blocked.command("unblock", unblock, ["unblockKey"], "lift a block").add_argument(
        "spki_sha256")
