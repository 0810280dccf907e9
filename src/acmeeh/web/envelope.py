"""The signed-request envelope (RFC 8555 §6.2-6.5): size, content type, JWS, nonce, url.

Checks run in the order alg → signature → nonce → url, so junk without a valid signature
cannot burn a nonce.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

import josepy
from flask import request

from ..authority import nonces
from ..protocol import jws, problems
from ..protocol.status import AccountStatus
from ..store import accounts as account_store
from ..store import signed_reads
from ..store.db import Connection
from ..store.records import AccountRow
from ..store.signed_reads import Reading
from .context import ctx

KeyKind = Literal["kid", "jwk", "either"]


T = TypeVar("T")


@dataclass(frozen=True)
class SignedRequest(Generic[T]):
    payload: bytes
    url: str
    account: AccountRow | None  # set for kid-signed requests
    jwk: josepy.JWK  # the key that verified the signature
    read: T | None = None  # what verify's `reading` read, once everything above checked out

    @property
    def is_post_as_get(self) -> bool:
        return self.payload == b""

    def require_post_as_get(self) -> None:
        """RFC 8555 §6.3: a POST-as-GET carries an empty payload, nothing else."""
        if self.payload != b"":
            raise problems.malformed("this resource takes POST-as-GET: the payload must be empty")

    def need_account(self) -> AccountRow:
        assert self.account is not None
        return self.account


def request_url() -> str:
    """The URL the client addressed, query included, as seen through server.external_url.

    RFC 8555 §6.4: the JWS `url` is the request URL, so a link with a query (the orders list's
    rel="next") is signed as it was given.
    """
    url = ctx().urls.base.removesuffix(ctx().env.settings.acme.path_prefix) + request.path
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def _checked(row: AccountRow | None) -> AccountRow:
    if row is None:
        raise problems.account_does_not_exist("no account exists for this kid")
    if row.status != AccountStatus.VALID:
        raise problems.unauthorized(f"account is {row.status}")
    return row


def _signs(parsed: jws.ParsedJWS, key: josepy.JWK) -> bool:
    try:
        parsed.verify(key)
    except problems.Problem:
        return False
    return True


def _by_kid(
    conn: Connection, parsed: jws.ParsedJWS, reading: Reading[T]
) -> tuple[AccountRow, josepy.JWK, bool, T | None]:
    """Verify a kid-signed request; returns (account, key, nonce was fresh, what `reading`
    read).

    With the account's key already known, the signature is checked first and the nonce, the
    account row and the resource then come in one round trip; the row's thumbprint must
    still be that key (else the request must verify under the current one). Otherwise the
    row is read first (two round trips). Nothing read is returned unless the signature
    verified under the account's current key and the account is valid.
    """
    c = ctx()
    account_id = c.urls.account_id(parsed.kid or "")
    if account_id is None:
        raise problems.malformed("the kid is not an account URL of this server")
    known = c.keys.for_account(account_id)
    if known is not None and _signs(parsed, known[1]):
        row, fresh, read = nonces.redeem_reading(c.env, conn, parsed.nonce, account_id, reading)
        row = _checked(row)
        if row.thumbprint == known[0]:
            return row, known[1], fresh, read
        # The key changed since: the request must verify under the current key.
        key = c.keys.get(row.thumbprint, row.jwk)
        parsed.verify(key)
        c.keys.remember(account_id, row.thumbprint, key)
        return row, key, fresh, read
    row = _checked(account_store.get_account(conn, account_id))
    key = c.keys.get(row.thumbprint, row.jwk)
    parsed.verify(key)
    c.keys.remember(account_id, row.thumbprint, key)
    _, fresh, read = nonces.redeem_reading(c.env, conn, parsed.nonce, account_id, reading)
    return row, key, fresh, read


@overload
def verify(key_kind: KeyKind = "kid") -> SignedRequest[None]: ...
@overload
def verify(key_kind: KeyKind, reading: Reading[T]) -> SignedRequest[T]: ...
def verify(key_kind: KeyKind = "kid", reading: Reading[T] | None = None) -> SignedRequest[T]:
    """Authenticate the current request or raise the matching problem.

    `reading` (store.signed_reads) names the resource a kid-signed request addresses: it is
    read in the round trip that redeems the nonce and comes back as `SignedRequest.read`,
    None when it does not exist or belongs to another account.
    """
    c = ctx()
    mime = (request.mimetype or "").lower()
    if mime != "application/jose+json":
        raise problems.unsupported_media_type()
    limit = c.env.settings.server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise problems.payload_too_large()
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise problems.payload_too_large()
    security = c.env.settings.security
    # An RSA jwk larger than any accepted size is refused before its signature costs anything.
    parsed = jws.parse(body, security.allowed_algorithms, max(security.rsa_key_sizes))
    if parsed.kid is not None and key_kind == "jwk":
        raise problems.malformed("this request must be signed with a jwk, not a kid")
    if parsed.kid is None and key_kind == "kid":
        raise problems.malformed("this request must be signed with the account's kid")
    account, read = None, None
    with c.env.pool.connection() as conn:  # one checkout for the account and the nonce
        if parsed.kid is not None and reading is not None:
            account, key, fresh, read = _by_kid(conn, parsed, reading)
        elif parsed.kid is not None:
            account, key, fresh, _ = _by_kid(conn, parsed, signed_reads.nothing())
        else:
            assert parsed.jwk is not None
            key = parsed.jwk
            parsed.verify(key)
            fresh = nonces.redeem(c.env, parsed.nonce, conn=conn)
    if not fresh:
        raise problems.bad_nonce("the nonce is unknown, used or expired")
    if parsed.url != request_url():
        raise problems.malformed("the JWS url header does not match the request URL")
    return SignedRequest(payload=parsed.payload, url=parsed.url, account=account, jwk=key,
                         read=read)


def account_from_path(signed: SignedRequest, account_id: uuid.UUID) -> AccountRow:
    """The kid must name the account whose URL was requested."""
    account = signed.need_account()
    if account.id != account_id:
        raise problems.unauthorized("the kid does not match the account URL")
    return account
