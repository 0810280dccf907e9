"""`issuance-intents`: serials the CA signed, or was about to sign, whose certificate was never
stored (a failed insert, a process killed between signing and storing). List, show (with the
signed leaf when it was kept) and revoke: the CRL and OCSP then show the serial revoked."""
from __future__ import annotations

from .cmd_certs import reason_code
from .context import Context, shows
from .output import Column, when
from .tree import Tree

INTENT_COLUMNS: list[Column] = [
    ("SERIAL", "serial"), ("NAMES", "names"), ("LEAF KEPT", "leaf_kept"),
    ("ABANDONED", lambda i: when(i.get("abandoned_at"))),
    ("REVOKED", lambda i: when(i.get("revoked_at"))),
    ("CREATED", lambda i: when(i.get("created_at")))]
INTENT_FIELDS: list[Column] = [
    ("serial", "serial"), ("names", "names"), ("order", "order_id"), ("account", "account_id"),
    ("not before", "not_before"), ("not after", "not_after"), ("key (SPKI SHA-256)", "spki_sha256"),
    ("signed leaf kept", "leaf_kept"), ("kept at", "signed_at"), ("abandoned", "abandoned_at"),
    ("revoked at", "revoked_at"), ("revocation reason", "revocation_reason"),
    ("recorded", "created_at")]


def list_intents(ctx: Context) -> int:
    return ctx.listing("listIssuanceIntents", {}, INTENT_COLUMNS)


show_intent = shows("getIssuanceIntent", INTENT_FIELDS, serial="serial")


def revoke_intent(ctx: Context) -> int:
    got = ctx.api.call("revokeIssuanceIntent", params={"serial": ctx.opt("serial")},
                       body={"reason": reason_code(ctx.opt("reason"))})
    return ctx.show(got, INTENT_FIELDS)


def register(tree: Tree) -> None:
    intents = tree.group("issuance-intents",
                         "serials signed (or about to be) whose certificate was never stored")
    intents.command("list", list_intents, ["listIssuanceIntents"], "list them", paged=True)
    intents.command("show", show_intent, ["getIssuanceIntent"],
                    "show one (with the signed leaf, PEM, when it was kept)").add_argument("serial")
    p = intents.command("revoke", revoke_intent, ["revokeIssuanceIntent"],
                        "revoke the serial (CRL and OCSP)")
    p.add_argument("serial")
    p.add_argument("--reason", default="unspecified", help="RFC 5280 reason name or number")
