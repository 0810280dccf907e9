"""Helpers of the issue 11 tests: the server's database, seen the way an auditor would.

Every refusal test ends with `nothing_signed(...)`: the CA signed nothing for the account
(no certificate row, no issuance intent), read straight from PostgreSQL.
"""
from __future__ import annotations

import uuid
from typing import Any

import josepy
import psycopg
from cryptography.hazmat.primitives.asymmetric import ec
from support.acme_client import AcmeClient
from integration.admin.admin_support import admin_overrides
from support.server import RunningServer, deep_merge

from acmeeh.authority import accounts, challenges, orders
from acmeeh.authority.env import Env
from acmeeh.protocol.messages import NewAccount, NewOrder
from acmeeh.store import challenges as challenge_store
from acmeeh.store import orders as order_store
from acmeeh.store.records import AccountRow

CAA_DOMAIN = "ca.trust.test"

# The issue 11 servers: an issuer domain for CAA (checked against the loopback DNS server),
# forbidden names written the loose ways operators write them, an ip allow-list that admits
# 127.0.0.0/8 but not ::1, and the admin API for blocked keys and revocation.
TRUST_OVERRIDES = deep_merge(admin_overrides(), {
    "acme": {"caa_identities": [CAA_DOMAIN]},
    "security": {"identifiers": {
        "forbidden_names": [" Forbidden.Trust.TEST. ", "Bücher.trust.test"],
        "allowed_networks": ["127.0.0.0/8", "10.0.0.0/8"],
        "max_per_order": 5,
    }},
})


def db(server: RunningServer) -> psycopg.Connection:
    return psycopg.connect(server.database_url, autocommit=True)


def account_id(client: AcmeClient) -> uuid.UUID:
    return uuid.UUID(client.kid.rsplit("/", 1)[1])


def scalar(server: RunningServer, query: str, *params: object) -> object:
    with db(server) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def signed_for(server: RunningServer, client: AcmeClient) -> int:
    """Certificates stored for the account (the CA never signs for an order it did not store
    the intent of first, so this counts every signature)."""
    return int(scalar(server, "SELECT count(*) FROM certificates WHERE account_id = %s",  # type: ignore[arg-type]
                      account_id(client)))


def orders_of(server: RunningServer, client: AcmeClient) -> int:
    return int(scalar(server, "SELECT count(*) FROM orders WHERE account_id = %s",  # type: ignore[arg-type]
                      account_id(client)))


def intents_for(server: RunningServer, client: AcmeClient) -> int:
    """Issuance intents left for the account (serials signed, or about to be, never stored)."""
    return int(scalar(server, "SELECT count(*) FROM issuance_intents WHERE account_id = %s",  # type: ignore[arg-type]
                      account_id(client)))


def nothing_signed(server: RunningServer, client: AcmeClient) -> None:
    """No certificate stored for the account, and no serial even recorded for signing."""
    assert signed_for(server, client) == 0
    assert intents_for(server, client) == 0


def unique(tag: str, zone: str = "trust.test") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.{zone}"


# --- driving the authority in-process (the `authority` fixture's Env) ----------------------


def new_account(env: Env, key: Any = None) -> tuple[AccountRow, Any]:
    """A valid account through authority.accounts (as newAccount makes it); (row, private key)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    msg = NewAccount.from_object({"termsOfServiceAgreed": True})
    row, _ = accounts.new_account(env, josepy.JWKEC(key=key.public_key()), msg)
    return row, key


def ready_order(env: Env, account: AccountRow, identifiers: list[dict[str, str]],
                method: str = "http-01") -> uuid.UUID:
    """newOrder, then respond to `method` of every authorization (trusted-network mode records
    it valid at once); the order is ready."""
    state = orders.new_order(env, account, NewOrder.from_object({"identifiers": identifiers}))
    for authz in state.authorizations:
        if authz.status == "valid":  # reused
            continue
        with env.pool.connection() as conn:
            offered = challenge_store.list_challenges(conn, [authz.id])
        challenge = next(c for c in offered if c.type == method)
        challenges.respond(env, account, (challenge, authz))
    assert order_now(env, account, state.order.id).order.status == "ready"
    return state.order.id


def read_order(env: Env, order_id: uuid.UUID):
    """The order with its authorizations, as a signed request to it reads them."""
    with env.pool.connection() as conn:
        return order_store.get_with_authorizations(conn, order_id)


def order_now(env: Env, account: AccountRow, order_id: uuid.UUID) -> orders.OrderState:
    """The order as a POST-as-GET would show it (status rule applied)."""
    return orders.order_state(env, account, read_order(env, order_id))


def certificates_of(env: Env, account: AccountRow) -> int:
    with env.pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM certificates WHERE account_id = %s",
                           (account.id,)).fetchone()
    return int(row[0]) if row else 0
