"""Identifier allowlists managed through the admin API, enforced by newOrder.

Entries come in three scopes: global, per EAB key (accounts bound to it) and per account.
Each scope that has entries for an account must allow every identifier of its order (the
scopes narrow each other; within a scope any entry suffices). A scope without entries places
no limit. A `name` entry matches one identifier exactly ("*.example.com" only the wildcard);
a `suffix` entry matches a dns name equal to it or under it, wildcards included.
"""
from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence

from ..protocol import problems
from ..protocol.identifiers import Identifier, from_operator
from ..protocol.status import IdentifierType
from ..store import accounts as account_store
from ..store import allowlists as allowlist_store
from ..store import eab as eab_store
from ..store.allowlists import AllowlistRow
from ..store.db import Connection
from ..store.records import AccountRow
from . import policy
from .env import Env

SCOPES = ("global", "eab", "account")
KINDS = ("name", "suffix")


def _matches(entry: AllowlistRow, ident: Identifier) -> bool:
    if entry.kind == "name":
        return entry.value == ident.value
    if ident.type != IdentifierType.DNS:
        return False
    return ident.base == entry.value or ident.base.endswith("." + entry.value)


def refused(entries: Sequence[AllowlistRow], identifiers: Sequence[Identifier]) -> list[Identifier]:
    """The identifiers some non-empty scope does not allow."""
    by_scope: dict[str, list[AllowlistRow]] = {}
    for entry in entries:
        by_scope.setdefault(entry.scope, []).append(entry)
    return [
        ident for ident in identifiers
        if any(not any(_matches(e, ident) for e in group) for group in by_scope.values())
    ]


def check(conn: Connection, account: AccountRow, identifiers: Sequence[Identifier]) -> None:
    """Raise rejectedIdentifier (one subproblem per refused identifier, RFC 8555 §6.7.1)."""
    check_entries(allowlist_store.entries_for(conn, account_id=account.id,
                                              eab_kid=account.eab_kid), identifiers)


def check_entries(entries: Sequence[AllowlistRow], identifiers: Sequence[Identifier]) -> None:
    """check() with the entries that apply to the account already read."""
    if not entries:
        return
    bad = refused(entries, identifiers)
    if not bad:
        return
    policy.raise_refusals([
        problems.rejected_identifier(f"{i.value} is not on this account's allowlist",
                                     identifier=i.to_json()) for i in bad
    ])


def normalize_entry(kind: str, value: str) -> str:
    """The canonical value of an entry (lower case, A-labels, canonical ip); 400 if invalid."""
    text = value.strip()
    try:
        ipaddress.ip_address(text)
        is_ip = True
    except ValueError:
        is_ip = False
    if kind == "suffix":
        if is_ip or text.startswith("*."):
            raise problems.malformed("a suffix entry is a dns name without a wildcard")
        return from_operator("dns", text).value
    return from_operator("ip" if is_ip else "dns", text).value


def add_entry(
    env: Env, *, scope: str, scope_id: str, kind: str, value: str, actor: str | None
) -> AllowlistRow:
    """Add an entry; 404 for an unknown EAB key or account, 409 for a duplicate."""
    if scope not in SCOPES or kind not in KINDS:
        raise problems.malformed("unknown scope or kind")
    canonical = normalize_entry(kind, value)
    with env.pool.connection() as conn, conn.transaction():
        scope_id = _scope_id(conn, scope, scope_id)
        row = allowlist_store.insert_entry(conn, uuid.uuid4(), scope=scope, scope_id=scope_id,
                                           kind=kind, value=canonical, created_by=actor)
    if row is None:
        raise problems.conflict("this allowlist entry already exists")
    env.log.info("allowlist entry added", extra={"scope": scope, "kind": kind, "value": canonical})
    return row


def _scope_id(conn: Connection, scope: str, scope_id: str) -> str:
    if scope == "global":
        if scope_id:
            raise problems.malformed("a global entry takes no scope_id")
        return ""
    if not scope_id:
        raise problems.malformed(f"an {scope} entry needs a scope_id")
    if scope == "eab":
        if eab_store.get_key(conn, scope_id) is None:
            raise problems.not_found("no such EAB key")
        return scope_id
    try:
        account_id = uuid.UUID(scope_id)
    except ValueError:
        raise problems.malformed("an account scope_id is the account's id (a UUID)") from None
    if account_store.get_account(conn, account_id) is None:
        raise problems.not_found("no such account")
    return str(account_id)


def remove_entry(env: Env, entry_id: uuid.UUID) -> AllowlistRow:
    with env.pool.connection() as conn:
        row = allowlist_store.delete_entry(conn, entry_id)
    if row is None:
        raise problems.not_found("no such allowlist entry")
    env.log.info("allowlist entry removed", extra={"entry_id": str(entry_id)})
    return row
