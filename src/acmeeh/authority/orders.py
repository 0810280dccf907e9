"""Orders (RFC 8555 §7.4): create with authorization reuse, read with the status rule applied."""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import metrics
from ..config.settings import OrderSettings, ProfileSettings
from ..protocol import problems
from ..protocol.identifiers import Identifier
from ..protocol.messages import NewOrder
from ..protocol.status import AuthzStatus, OrderStatus
from ..store import authzs as authz_store
from ..store import new_order_checks as checks_store
from ..store import orders as order_store
from ..store.db import Connection
from ..store.new_order_checks import NewOrderChecks
from ..store.paging import Page
from ..store.records import AccountRow, AuthzRow, OrderRow
from . import allowlists, events, maintenance, policy, profiles, ratelimits, renewal, states
from .env import Env


@dataclass(frozen=True)
class OrderState:
    """An order with its authorizations, statuses as of `now`."""

    order: OrderRow
    authorizations: list[AuthzRow]


def new_order(
    env: Env, account: AccountRow, msg: NewOrder, *, remote_addr: str | None = None,
    checks: NewOrderChecks | None = None,
) -> OrderState:
    """Check policy, reuse valid authorizations, insert the order, its authzs and challenges.

    Refused with 503 while maintenance mode is on; identifiers must pass the configured
    policy and the admin allowlists (rejectedIdentifier); the profile named (else
    ca.default_profile) must be configured and allowed for the account (invalidProfile) and
    the identifiers must fit it; rateLimited past the account's order or failed-validation
    limits (`remote_addr` may be exempt). `checks`: what the database says of maintenance,
    allowlists and profile restrictions, as read with the signed request (else read here).
    """
    if msg.not_before is not None or msg.not_after is not None:
        raise problems.malformed("notBefore and notAfter are not supported; omit them")
    identifiers = policy.screen(msg.identifiers, env.settings.security.identifiers)
    profile = profiles.configured(env.settings.ca, msg.profile)  # invalidProfile when unknown
    profiles.check_identifiers(profile, identifiers)
    enabled = env.settings.challenges.enabled
    offered = {i: policy.challenge_types(i, enabled) for i in identifiers}
    policy.raise_refusals([
        problems.rejected_identifier(f"no enabled challenge type can validate {i.value}",
                                     identifier=i.to_json())
        for i, types in offered.items() if not types
    ])
    now = env.clock()
    replaces_text = msg.replaces if env.settings.renewal_info.enabled else None
    wanted = _Wanted(account, identifiers, offered, replaces_text, remote_addr, now, profile)
    with env.pool.connection() as conn:
        if checks is None:  # maintenance mode, the allowlists and the profile restrictions
            checks = checks_store.read(conn, account_id=account.id, eab_kid=account.eab_kid)
        if checks.maintenance:
            raise maintenance.unavailable()
        # The order and its new authorizations go in with one statement. What must commit
        # with it, a rate-limit count or the lock on a replaced certificate (RFC 9773 §5,
        # judged one order at a time), takes a transaction; otherwise the statement is atomic
        # on its own (autocommit) and BEGIN/COMMIT would cost two round trips.
        if ratelimits.limits_client(env, remote_addr) or replaces_text is not None:
            with conn.transaction():
                order, reused, created = _create(env, conn, wanted, checks)
        else:
            order, reused, created = _create(env, conn, wanted, checks)
    authzs = reused + created
    env.log.info("order created", extra={"order_id": str(order.id), "account_id": str(account.id)})
    metrics.ORDERS_CREATED.inc()
    return OrderState(order, sorted(authzs, key=_authz_order))


@dataclass(frozen=True)
class _Wanted:
    """A newOrder request that passed the policy checks."""

    account: AccountRow
    identifiers: list[Identifier]
    offered: dict[Identifier, list[str]]  # challenge types offered per identifier
    replaces_text: str | None
    remote_addr: str | None
    now: datetime
    profile: ProfileSettings  # ca.profiles entry the order is made under


def _create(
    env: Env, conn: Connection, wanted: _Wanted, checks: NewOrderChecks
) -> tuple[OrderRow, list[AuthzRow], list[AuthzRow]]:
    """Check the allowlists and limits, then insert the order: (order, reused authorizations,
    new authorizations). The caller decides whether this runs in a transaction."""
    account, identifiers, now = wanted.account, wanted.identifiers, wanted.now
    cfg = env.settings.order
    allowlists.check_entries(checks.allowlist, identifiers)
    profiles.check_restrictions(checks.restrictions, wanted.profile)
    ratelimits.check_failed_validations(env, conn, account, identifiers, wanted.remote_addr)
    replaces = _replaces(env, conn, account, identifiers, wanted.replaces_text)
    reusable = _reusable(env, conn, account, identifiers, now) if cfg.authz_reuse else {}
    reused = [r for i in identifiers if (r := reusable.get((i.type, i.value)))]
    new = [_new_authz(i, wanted.offered[i], now, cfg) for i in identifiers
           if (i.type, i.value) not in reusable]
    order, created = order_store.create_order(
        conn, uuid.uuid4(), account_id=account.id,
        status=OrderStatus.PENDING if new else OrderStatus.READY,
        identifiers=[i.to_json() for i in identifiers],
        expires=now + timedelta(seconds=cfg.lifetime_seconds), replaces=replaces,
        profile=wanted.profile.name,
        authorization_ids=[a.id for a in reused] + [a.id for a in new], new_authorizations=new,
    )
    ratelimits.take_new_order(env, conn, account, wanted.remote_addr)  # last: holds its row briefly
    return order, reused, created


def _authz_order(a: AuthzRow) -> tuple[str, str, bool]:
    """The order the store lists an order's authorizations in."""
    return a.identifier_type, a.identifier_value, a.wildcard


def _replaces(
    env: Env, conn: Connection, account: AccountRow, identifiers: list[Identifier], text: str | None
) -> str | None:
    """RFC 9773 §5: check `replaces` and return the canonical certID to record (None when
    absent, or ignored when renewal information is disabled)."""
    if text is None:
        return None
    return renewal.check_replaces(
        conn, account, identifiers, text, settle=lambda o: refresh(env, conn, _with_authorizations(conn, o)).order
    )


def _with_authorizations(conn: Connection, order: OrderRow) -> OrderState:
    return OrderState(order, authz_store.list_order_authorizations(conn, order.id))


def _reusable(
    env: Env, conn: Connection, account: AccountRow, identifiers: list[Identifier], now: datetime
) -> dict[tuple[str, str], AuthzRow]:
    """The account's valid authorizations for these identifiers that stay valid long enough,
    by (type, value as ordered)."""
    margin = now + timedelta(seconds=env.settings.order.authz_reuse_min_remaining_seconds)
    wanted = [(i.type, i.base, i.wildcard) for i in identifiers]
    found: dict[tuple[str, str], AuthzRow] = {}
    # Only authorizations proven by a challenge type still enabled (finalize checks it too).
    for a in authz_store.find_reusable(conn, account.id, wanted, valid_until=margin,
                                       methods=env.settings.challenges.enabled):
        value = f"*.{a.identifier_value}" if a.wildcard else a.identifier_value
        found.setdefault((a.identifier_type, value), a)
    return found


def _new_authz(
    ident: Identifier, types: list[str], now: datetime, cfg: OrderSettings
) -> order_store.NewAuthorization:
    # RFC 8555 §8.1: tokens carry at least 128 bits of entropy.
    return order_store.NewAuthorization(
        id=uuid.uuid4(), identifier_type=ident.type, identifier_value=ident.base,
        wildcard=ident.wildcard, expires=now + timedelta(seconds=cfg.authz_lifetime_seconds),
        challenges=tuple((uuid.uuid4(), t, secrets.token_urlsafe(32)) for t in types),
    )


def insert_authz(
    conn: Connection, account: AccountRow, ident: Identifier, types: list[str],
    now: datetime, cfg: OrderSettings,
) -> AuthzRow:
    """Insert a pending authorization with one challenge per offered type (newAuthz)."""
    new = _new_authz(ident, types, now, cfg)
    return authz_store.insert_with_challenges(
        conn, new.id, account_id=account.id, identifier_type=new.identifier_type,
        identifier_value=new.identifier_value, wildcard=new.wildcard, expires=new.expires,
        challenges=list(new.challenges),
    )


def owned(account: AccountRow, found: tuple[OrderRow, list[AuthzRow]] | None) -> OrderState:
    """The order as read, if it is the account's (404 otherwise, as for none)."""
    if found is None or found[0].account_id != account.id:
        raise problems.not_found()
    return OrderState(*found)


def order_state(env: Env, account: AccountRow,
                found: tuple[OrderRow, list[AuthzRow]] | None) -> OrderState:
    """The account's order as read (with the signed request), the RFC 8555
    §7.1.6 rule applied: a changed status is persisted (refresh), on a connection checked
    out only then."""
    state = owned(account, found)
    if _settled(env, state) == state.order.status:
        return state
    with env.pool.connection() as conn:
        return refresh(env, conn, state)


def _settled(env: Env, state: OrderState) -> OrderStatus:
    now = env.clock()
    return states.order_status(state.order, [states.authz_status(a, now)
                                             for a in state.authorizations], now)


def refresh(env: Env, conn: Connection, state: OrderState) -> OrderState:
    """Apply the RFC 8555 §7.1.6 rule and persist a changed status (compare-and-set)."""
    now = env.clock()
    order, authzs = state.order, state.authorizations
    status = _settled(env, state)
    if status == order.status:
        return state
    if status == OrderStatus.INVALID:
        # Going invalid also records the order.invalid event: one transaction for both.
        with conn.transaction():
            moved = states.move_order(conn, order.id, order.status, status,
                                      error=_invalid_reason(order, authzs, now))
            if moved is not None:
                events.order_invalid(conn, env, moved, failed=False)
    else:  # one compare-and-set, atomic on its own
        moved = states.move_order(conn, order.id, order.status, status)
    return OrderState(moved or order_store.get_order(conn, order.id) or order, authzs)


def _invalid_reason(order: OrderRow, authzs: list[AuthzRow], now: datetime) -> dict:
    if order.expires <= now:
        return problems.malformed("the order expired before it was finalized").to_dict()
    bad = [a for a in authzs if states.authz_status(a, now) not in (AuthzStatus.PENDING, AuthzStatus.VALID)]
    names = ", ".join(a.identifier_value for a in bad)
    return problems.unauthorized(f"authorization failed for {names}").to_dict()


def list_orders(
    env: Env, account: AccountRow, *, after: tuple[datetime, uuid.UUID] | None = None
) -> tuple[list[OrderRow], tuple[datetime, uuid.UUID] | None]:
    """One page of the account's orders, newest first, starting after the position `after`
    (created_at, id) of the previous page's last order; and the position that starts the
    next page, None on the last page."""
    size = env.settings.acme.orders_page_size
    start = Page(size + 1, after[0], str(after[1])) if after else Page(size + 1)
    with env.pool.connection() as conn:
        rows = order_store.list_account_orders(conn, account.id, start)
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, (rows[-1].created_at, rows[-1].id)
