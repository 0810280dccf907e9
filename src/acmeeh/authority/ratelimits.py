"""Rate limits (security.rate_limits): refuse with rateLimited (RFC 8555 §6.6) what goes past them.

Counters are fixed windows aligned to the Unix epoch, kept in PostgreSQL so every instance
shares them. Each `take_*` runs inside the caller's transaction as its last step: one
statement that counts the attempt only while under the limit, so a refused attempt is not
counted and a rollback of the operation undoes its count. Settings are read on every call
(a SIGHUP changes them); when disabled, or the client is in `exempt_networks`, nothing
touches the database.

Also here: attempts per client address for limits outside security.rate_limits (the admin
API's logins), on the same counters, and TokenBucket, a per-process budget for work that a
client could otherwise drive at its own rate (OCSP nonce signatures, audit writes).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from .. import metrics
from ..protocol import problems
from ..config.settings import RateLimitSettings, RateLimitsSettings
from ..protocol.identifiers import Identifier
from ..store import ratelimits as counter_store
from ..store.db import Connection
from ..store.records import AccountRow
from .env import Env

NEW_ACCOUNTS_PER_IP = "new_accounts_per_ip"
NEW_ORDERS_PER_ACCOUNT = "new_orders_per_account"
CERTIFICATES_PER_ACCOUNT = "certificates_per_account"
FAILED_VALIDATIONS = "failed_validations_per_account_per_name"
IPV6_PREFIX = 64  # one IPv6 client usually holds a whole /64


def client_key(remote_addr: str | None) -> str | None:
    """The per-IP counter key: the IPv4 address, or the IPv6 /64; None when unknown."""
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def is_exempt(networks: Iterable[str], remote_addr: str | None) -> bool:
    """True when `remote_addr` lies in one of the CIDRs (validated at start-up)."""
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def window(now: datetime, seconds: int) -> tuple[datetime, datetime]:
    """The fixed window holding `now`: (start, end), aligned to the epoch."""
    start = math.floor(now.timestamp() / seconds) * seconds
    begin = datetime.fromtimestamp(start, UTC)
    return begin, begin + timedelta(seconds=seconds)


def _active(env: Env, remote_addr: str | None) -> RateLimitsSettings | None:
    """The rate-limit settings when limits apply to this client, else None."""
    cfg = env.settings.security.rate_limits
    if not cfg.enabled or (cfg.exempt_networks and is_exempt(cfg.exempt_networks, remote_addr)):
        return None
    return cfg


def limits_client(env: Env, remote_addr: str | None) -> bool:
    """Whether rate limits apply to this client at all (callers skip a transaction if not)."""
    return _active(env, remote_addr) is not None


def _seconds(wait: float) -> int:
    """Retry-After in whole seconds, rounded up so the window has freed by then."""
    return max(1, math.ceil(wait))


def _refuse(name: str, detail: str, retry_after: int) -> problems.Problem:
    metrics.RATE_LIMITED.labels(limit=name).inc()
    return problems.rate_limited(detail, retry_after)


def _take(env: Env, conn: Connection, name: str, limit: RateLimitSettings, key: str) -> None:
    if limit.count <= 0:  # this limit is turned off
        return
    now = env.clock()
    start, end = window(now, limit.window_seconds)
    taken = counter_store.take(
        conn, name, key, window_start=start, window_end=end, limit=limit.count
    )
    if taken is None:
        wait = _seconds((end - now).total_seconds())
        raise _refuse(
            name,
            f"rate limit {name} reached ({limit.count} per "
            f"{limit.window_seconds} s); retry after {wait} s",
            wait,
        )


def take_new_account(env: Env, conn: Connection, remote_addr: str | None) -> None:
    """Count an account creation against the client's address; rateLimited when over."""
    cfg = _active(env, remote_addr)
    key = client_key(remote_addr)
    if cfg is not None and key is not None:
        _take(env, conn, NEW_ACCOUNTS_PER_IP, cfg.new_accounts_per_ip, key)


def take_new_order(
    env: Env, conn: Connection, account: AccountRow, remote_addr: str | None
) -> None:
    """Count a new order against the account; rateLimited when over."""
    cfg = _active(env, remote_addr)
    if cfg is not None:
        _take(env, conn, NEW_ORDERS_PER_ACCOUNT, cfg.new_orders_per_account, str(account.id))


def take_certificate(
    env: Env, conn: Connection, account: AccountRow, remote_addr: str | None
) -> None:
    """Count a certificate about to be signed against the account; rateLimited when over."""
    cfg = _active(env, remote_addr)
    if cfg is not None:
        _take(env, conn, CERTIFICATES_PER_ACCOUNT, cfg.certificates_per_account, str(account.id))


def check_failed_validations(
    env: Env,
    conn: Connection,
    account: AccountRow,
    identifiers: Iterable[Identifier],
    remote_addr: str | None,
) -> None:
    """rateLimited when a name of the order failed validation for this account `count` times
    within the last `window_seconds` (a sliding window over invalid authorizations)."""
    cfg = _active(env, remote_addr)
    if cfg is None or cfg.failed_validations_per_account_per_name.count <= 0:
        return
    limit = cfg.failed_validations_per_account_per_name
    now = env.clock()
    span = timedelta(seconds=limit.window_seconds)
    names = sorted({i.base for i in identifiers})
    found = counter_store.recent_failures(
        conn, account.id, names, since=now - span, at_least=limit.count
    )
    if not found:
        return
    # Once the count-th most recent failure leaves the window, fewer than `count` remain;
    # the order can go through when that holds for every name (the longest wait).
    frees = {name: times[limit.count - 1] + span for name, times in found.items()}
    name = max(sorted(frees), key=frees.__getitem__)
    wait = _seconds((frees[name] - now).total_seconds())
    raise _refuse(
        FAILED_VALIDATIONS,
        f"rate limit {FAILED_VALIDATIONS} reached for {name}: "
        f"{limit.count} failed validations within {limit.window_seconds} s; "
        f"retry after {wait} s",
        wait,
    )


def purge_expired(env: Env, *, limit: int) -> int:
    """Delete up to `limit` counters of windows that have ended; the count deleted."""
    with env.pool.connection() as conn:
        return counter_store.delete_expired(conn, env.clock(), limit)


# --- per client address, outside security.rate_limits --------------------------------------
def take_address_attempt(
    env: Env, name: str, remote_addr: str | None, *, limit: int, window_seconds: int
) -> int | None:
    """Count an attempt of `remote_addr` (IPv6 per /64) against `limit` per window; None when
    it may go on, else the seconds until the window ends (for Retry-After). The count is
    taken before the attempt's work, so concurrent attempts cannot overrun the limit; an
    unknown address is not counted."""
    key = client_key(remote_addr)
    if key is None:
        return None
    now = env.clock()
    start, end = window(now, window_seconds)
    with env.pool.connection() as conn:
        taken = counter_store.take(
            conn, name, key, window_start=start, window_end=end, limit=limit
        )
    if taken is not None:
        return None
    metrics.RATE_LIMITED.labels(limit=name).inc()
    return _seconds((end - now).total_seconds())


def give_back_address_attempt(
    env: Env, name: str, remote_addr: str | None, *, window_seconds: int
) -> None:
    """Uncount an attempt that turned out well (a successful login is not held against the
    address)."""
    key = client_key(remote_addr)
    if key is None:
        return
    start, _end = window(env.clock(), window_seconds)
    with env.pool.connection() as conn:
        counter_store.give_back(conn, name, key, window_start=start)


class TokenBucket:
    """A per-process budget for work a client must not drive at its own rate: `rate` tokens
    a second, at most `burst` held (default one second's worth, at least one). Thread-safe."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = max(1.0, burst if burst is not None else rate)
        self._tokens = self._capacity
        self._clock = clock
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend a token if one is left."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True
