"""CAA in the life of an order (RFC 8659, RFC 8657; issue 11 item 1).

Checked for every dns identifier when its authorization is validated (a refusal makes the
challenge invalid with `caa`), and again at finalize for each authorization whose check is
older than `caa.recheck_after_seconds` (a refusal answers `caa` 403 with a subproblem per
identifier; the order stays ready and nothing is signed). The lookups are network IO: never
call these inside a transaction.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from .. import metrics
from ..protocol import problems
from ..protocol.identifiers import Identifier
from ..protocol.problems import Problem
from ..protocol.status import IdentifierType
from ..store import authzs as authz_store
from ..store.records import AuthzRow
from . import policy
from .env import Env


def identifier_of(authz: AuthzRow) -> Identifier:
    """The identifier an authorization stands for (wildcard flag included)."""
    value = ("*." if authz.wildcard else "") + authz.identifier_value
    return Identifier(IdentifierType(authz.identifier_type), value)


def check(env: Env, account_id: uuid.UUID, ident: Identifier, method: str) -> Problem | None:
    """The `caa` problem that forbids issuing for `ident` to this account after validation by
    `method`, or None (also when CAA is off or the identifier is an address)."""
    if not env.settings.caa.enabled or ident.type != IdentifierType.DNS:
        return None
    account_uri = env.account_url(account_id) if env.account_url is not None else ""
    problem = env.validator.check_caa(ident, tuple(env.settings.acme.caa_identities),
                                      account_uri=account_uri, method=method)
    metrics.CAA_CHECKS.labels(result="allowed" if problem is None else problem.code).inc()
    return problem


def due(env: Env, authzs: Sequence[AuthzRow], now: datetime) -> list[AuthzRow]:
    """The dns authorizations whose CAA check is missing or older than the recheck age."""
    if not env.settings.caa.enabled:
        return []
    oldest = now - timedelta(seconds=env.settings.caa.recheck_after_seconds)
    return [a for a in authzs if a.identifier_type == IdentifierType.DNS
            and (a.caa_checked_at is None or a.caa_checked_at <= oldest)]


def recheck(env: Env, account_id: uuid.UUID, authzs: Sequence[AuthzRow],
            methods: Mapping[uuid.UUID, str]) -> None:
    """Check CAA again for `authzs`; raise `caa` (403) with a subproblem per refused
    identifier, else record the new check time."""
    now = env.clock()
    refused = []
    for authz in authzs:
        ident = identifier_of(authz)
        problem = check(env, account_id, ident, methods.get(authz.id, ""))
        if problem is not None:
            refused.append(_as_caa(problem, ident))
    policy.raise_refusals(refused)
    with env.pool.connection() as conn:
        authz_store.set_caa_checked(conn, [a.id for a in authzs], now)


def _as_caa(problem: Problem, ident: Identifier) -> Problem:
    """A refusal at finalize is always `caa` (403); a crash of the check fails closed."""
    if problem.code == "caa":
        return problem
    return problems.caa(f"CAA could not be checked for {ident.value}", identifier=ident.to_json())
