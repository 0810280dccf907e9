"""Authorization and challenge endpoints (RFC 8555 §7.5)."""
from __future__ import annotations

import json
import math
import uuid

from flask import Response, request

from ..authority import authorizations, challenges, preauthorization
from ..protocol import problems
from ..protocol.messages import AuthorizationUpdate, NewAuthorization
from ..protocol.status import AuthzStatus, ChallengeStatus
from ..store import signed_reads
from . import envelope, render
from .blueprint import json_response, retry_after
from .context import ctx


def new_authz() -> Response:
    """Pre-authorization (RFC 8555 §7.4.1): 201 with the new authorization."""
    signed = envelope.verify("kid")
    msg = NewAuthorization.parse(signed.payload)
    state = preauthorization.new_authz(ctx().env, signed.need_account(), msg,
                                       remote_addr=request.remote_addr)
    urls = ctx().urls
    return json_response(render.authorization(state, urls), 201,
                         location=urls.authz(state.authz.id), retry_after=retry_after())


def authz(authz_id: uuid.UUID) -> Response:
    signed = envelope.verify("kid", signed_reads.authorization(authz_id))
    account = signed.need_account()
    env = ctx().env
    if signed.is_post_as_get:
        state = authorizations.authz_state(env, account, signed.read)
    else:
        msg = AuthorizationUpdate.parse(signed.payload)
        if msg.status != AuthzStatus.DEACTIVATED:
            raise problems.malformed("an authorization may only be updated to deactivated")
        state = authorizations.deactivate(env, account, authz_id)
    wait = retry_after() if state.status == AuthzStatus.PENDING else None
    return json_response(render.authorization(state, ctx().urls), retry_after=wait)


def challenge(challenge_id: uuid.UUID) -> Response:
    """POST {} asks for validation; POST-as-GET reads (RFC 8555 §7.5.1)."""
    signed = envelope.verify("kid", signed_reads.challenge(challenge_id))
    account = signed.need_account()
    env = ctx().env
    if signed.is_post_as_get:
        state = challenges.challenge_state(account, signed.read)
    else:
        try:
            body = json.loads(signed.payload)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise problems.malformed("a challenge response is a JSON object ({})")
        state = challenges.respond(env, account, signed.read)
    urls = ctx().urls
    return json_response(render.challenge(state.challenge, urls), retry_after=_wait(state),
                         links=((urls.authz(state.authz.id), "up"),))


def _wait(state: challenges.ChallengeState) -> int | None:
    """Retry-After of a processing challenge: until its next attempt when a transient failure
    is being retried (RFC 8555 §8.2: the status will not change before then), else the usual."""
    row = state.challenge
    if row.status != ChallengeStatus.PROCESSING:
        return None
    if row.retry_at is not None:
        left = (row.retry_at - ctx().env.clock()).total_seconds()
        return max(retry_after(), math.ceil(left))
    return retry_after()
