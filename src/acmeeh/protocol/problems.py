"""ACME problem documents (RFC 8555 §6.7, RFC 7807) as one exception type.

Code below ``web/`` raises a :class:`Problem` built by one of the constructors
here; only the web layer renders it. Each constructor fixes the HTTP status, so
callers choose the error *type*, never the status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

URN_PREFIX = "urn:ietf:params:acme:error:"

# RFC 8555 §6.7: the status a problem travels with; malformed may carry a few more
# (404/405/409/413/415) because RFC 8555 gives no dedicated type for them.
_MALFORMED_STATUSES = frozenset({400, 404, 405, 406, 409, 413, 415})
_INTERNAL_DETAIL = "The server experienced an internal error"


class Problem(Exception):
    """An RFC 7807 problem document that can be raised.

    ``type`` is the full URN, ``status`` the HTTP status, ``identifier`` the ACME
    identifier (``{"type", "value"}``) it concerns, ``headers`` extra response
    headers (Retry-After, Link), ``extra`` extension members (``algorithms``,
    ``instance``). ``internal`` is log-only text and never rendered.
    """

    def __init__(
        self,
        type_: str,
        detail: str,
        status: int,
        *,
        subproblems: Iterable[Problem] = (),
        identifier: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        internal: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.type = type_ if type_.startswith(URN_PREFIX) else URN_PREFIX + type_
        self.detail = detail
        self.status = status
        self.subproblems: tuple[Problem, ...] = tuple(subproblems)
        self.identifier: dict[str, str] | None = dict(identifier) if identifier else None
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = dict(extra or {})
        self.internal = internal

    @property
    def code(self) -> str:
        """The short error name, e.g. ``"malformed"`` (for logs and metrics)."""
        return self.type.removeprefix(URN_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body (``application/problem+json``) of this problem."""
        body: dict[str, Any] = {"type": self.type, "detail": self.detail, "status": self.status}
        body.update(self.extra)
        if self.identifier is not None:
            body["identifier"] = dict(self.identifier)
        if self.subproblems:
            # RFC 8555 §6.7.1: each subproblem names the identifier it is about.
            body["subproblems"] = [_subproblem_dict(p) for p in self.subproblems]
        return body

    def __repr__(self) -> str:
        return f"Problem({self.code!r}, {self.detail!r}, status={self.status})"


def _subproblem_dict(problem: Problem) -> dict[str, Any]:
    body: dict[str, Any] = {"type": problem.type, "detail": problem.detail}
    if problem.identifier is not None:
        body["identifier"] = dict(problem.identifier)
    return body


class _Constructor(Protocol):
    def __call__(self, detail: str, *, identifier: Mapping[str, str] | None = None) -> Problem: ...


def _make(name: str, status: int) -> _Constructor:
    """A constructor ``f(detail, *, identifier=None) -> Problem`` for one error type."""

    def build(detail: str, *, identifier: Mapping[str, str] | None = None) -> Problem:
        return Problem(name, detail, status, identifier=identifier)

    build.__name__ = name
    build.__doc__ = f"``{URN_PREFIX}{name}`` with HTTP status {status}."
    return build


# RFC 8555 §6.7 error types whose constructor takes only (detail, identifier=).
bad_nonce = _make("badNonce", 400)
bad_public_key = _make("badPublicKey", 400)
bad_csr = _make("badCSR", 400)
bad_revocation_reason = _make("badRevocationReason", 400)
already_revoked = _make("alreadyRevoked", 400)
account_does_not_exist = _make("accountDoesNotExist", 400)
unauthorized = _make("unauthorized", 403)
rejected_identifier = _make("rejectedIdentifier", 400)
unsupported_identifier = _make("unsupportedIdentifier", 400)
invalid_contact = _make("invalidContact", 400)
unsupported_contact = _make("unsupportedContact", 400)
order_not_ready = _make("orderNotReady", 403)
external_account_required = _make("externalAccountRequired", 400)
# Challenge failures (RFC 8555 §8): stored on the challenge, rarely returned directly.
connection = _make("connection", 400)
dns = _make("dns", 400)
incorrect_response = _make("incorrectResponse", 403)
tls = _make("tls", 400)
caa = _make("caa", 403)
# RFC 9773 §5: the certificate named in `replaces` already has a replacement order.
already_replaced = _make("alreadyReplaced", 409)
# draft-ietf-acme-profiles §3: a profile the server does not offer, or not to this account.
invalid_profile = _make("invalidProfile", 400)


def malformed(
    detail: str, status: int = 400, *, identifier: Mapping[str, str] | None = None
) -> Problem:
    """``malformed``; status may be 400, 404, 405, 406, 409, 413 or 415."""
    if status not in _MALFORMED_STATUSES:
        raise ValueError(f"malformed cannot carry status {status}")
    return Problem("malformed", detail, status, identifier=identifier)


def not_found(detail: str = "The requested resource does not exist") -> Problem:
    """``malformed`` with 404."""
    return malformed(detail, 404)


def method_not_allowed(allowed: Iterable[str] = (), detail: str = "Method not allowed") -> Problem:
    """``malformed`` with 405 and the ``Allow`` header (RFC 9110 §15.5.6: a 405 MUST carry it)."""
    problem = malformed(detail, 405)
    problem.headers["Allow"] = ", ".join(sorted(set(allowed)))
    return problem


def conflict(detail: str) -> Problem:
    """``malformed`` with 409."""
    return malformed(detail, 409)


def payload_too_large(detail: str = "Request body too large") -> Problem:
    """``malformed`` with 413."""
    return malformed(detail, 413)


def not_acceptable(offered: Iterable[str]) -> Problem:
    """``malformed`` with 406: no format the client accepts (RFC 9110 §15.5.7)."""
    return malformed(f"no acceptable format; this resource is served as {', '.join(offered)}",
                     406)


def unsupported_media_type(
    detail: str = "Content-Type must be application/jose+json",
) -> Problem:
    """``malformed`` with 415 (RFC 8555 §6.2)."""
    return malformed(detail, 415)


def bad_signature_algorithm(detail: str, algorithms: Iterable[str]) -> Problem:
    """``badSignatureAlgorithm``; RFC 8555 §6.2: the body MUST list the accepted algs."""
    return Problem("badSignatureAlgorithm", detail, 400, extra={"algorithms": list(algorithms)})


def user_action_required(
    detail: str, instance: str | None = None, *, terms_of_service: str | None = None
) -> Problem:
    """``userActionRequired`` (403). RFC 8555 §7.3.3: ``instance`` is the page the user
    must visit; the new terms go in a ``Link: rel="terms-of-service"`` header."""
    extra = {"instance": instance} if instance else None
    headers = {"Link": f'<{terms_of_service}>;rel="terms-of-service"'} if terms_of_service else None
    return Problem("userActionRequired", detail, 403, extra=extra, headers=headers)


def rate_limited(detail: str, retry_after: int | None = None) -> Problem:
    """``rateLimited`` (429) with an optional Retry-After header (RFC 8555 §6.6)."""
    headers = {"Retry-After": str(max(0, int(retry_after)))} if retry_after is not None else None
    return Problem("rateLimited", detail, 429, headers=headers)


def server_internal(internal: str | None = None) -> Problem:
    """``serverInternal`` (500). The body always carries a generic detail; ``internal``
    is kept on the exception for the log only."""
    return Problem("serverInternal", _INTERNAL_DETAIL, 500, internal=internal)


def unavailable(detail: str, retry_after: int) -> Problem:
    """``serverInternal`` with 503 and Retry-After: the server cannot serve the request now
    (database unreachable, validation queue full) but expects to soon; nothing was changed,
    and the same request may be sent again after ``retry_after`` seconds."""
    return Problem("serverInternal", detail, 503,
                   headers={"Retry-After": str(max(1, int(retry_after)))})


def compound(detail: str, subproblems: Iterable[Problem]) -> Problem:
    """``compound`` (RFC 8555 §6.7.1): several per-identifier problems at once."""
    return Problem("compound", detail, 400, subproblems=subproblems)
