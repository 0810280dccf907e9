"""Pre-authorization (RFC 8555 §7.4.1): prove control of an identifier before ordering."""
from __future__ import annotations

from ..protocol import problems
from ..protocol.messages import NewAuthorization
from ..store import challenges as challenge_store
from ..store.records import AccountRow
from . import allowlists, maintenance, policy, ratelimits
from .authorizations import AuthzState
from .env import Env
from .orders import insert_authz


def new_authz(
    env: Env, account: AccountRow, msg: NewAuthorization, *, remote_addr: str | None = None
) -> AuthzState:
    """A new pending authorization for one identifier, under the same policy as newOrder.

    Wildcards are refused: the authorization names exactly its identifier, so it could never
    stand for a wildcard name (§7.4.1). Refused with 503 while maintenance mode is on.
    """
    maintenance.check_open(env)
    (ident,) = policy.screen([msg.identifier], env.settings.security.identifiers)
    if ident.wildcard:
        raise problems.rejected_identifier(
            "wildcard identifiers cannot be pre-authorized (RFC 8555 §7.4.1); use newOrder",
            identifier=ident.to_json(),
        )
    types = policy.challenge_types(ident, env.settings.challenges.enabled)
    if not types:
        raise problems.rejected_identifier(f"no enabled challenge type can validate {ident.value}",
                                           identifier=ident.to_json())
    with env.pool.connection() as conn, conn.transaction():
        allowlists.check(conn, account, [ident])
        ratelimits.check_failed_validations(env, conn, account, [ident], remote_addr)
        authz = insert_authz(conn, account, ident, types, env.clock(), env.settings.order)
        challenges = challenge_store.list_challenges(conn, [authz.id])
    env.log.info("authorization created", extra={"authz_id": str(authz.id)})
    return AuthzState(authz, authz.status, challenges)
