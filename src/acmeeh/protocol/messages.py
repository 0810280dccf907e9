"""Inbound ACME request payloads (RFC 8555 §7.3-§7.6) as josepy objects.

Each class has ``parse(payload: bytes)`` which returns an immutable instance or
raises ``malformed`` naming the field at fault. Unknown members are ignored:
clients may send extensions. Values are checked for type only; what they mean
(allowed statuses, contact schemes, policy) is for ``authority``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from josepy import errors as jose_errors
from josepy.json_util import JSONObjectWithFields, field

from acmeeh.protocol import problems
from acmeeh.protocol.jws import b64url_decode, b64url_encode, check_flattened, json_object
from acmeeh.protocol.status import RevocationReason

Decoder = Callable[[Any], Any]


def _checked(name: str, ok: Callable[[Any], bool], must_be: str,
             convert: Decoder = lambda value: value) -> Decoder:
    """A decoder that takes a value of the right JSON type (through `convert`) and answers
    anything else with `malformed`: "'name' must be <must_be>"."""
    def decode(value: Any) -> Any:
        if not ok(value):
            raise problems.malformed(f"{name!r} must be {must_be}")
        return convert(value)

    return decode


def _string(name: str) -> Decoder:
    return _checked(name, lambda v: isinstance(v, str), "a string")


def _boolean(name: str) -> Decoder:
    return _checked(name, lambda v: isinstance(v, bool), "true or false")


def _strings(name: str) -> Decoder:
    return _checked(name, lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
                    "an array of strings", tuple)


def _object(name: str) -> Decoder:
    return _checked(name, lambda v: isinstance(v, dict), "a JSON object")


def _base64(name: str) -> Decoder:
    def decode(value: Any) -> bytes:
        data = b64url_decode(value, repr(name))
        if not data:
            raise problems.malformed(f"{name!r} is empty")
        return data

    return decode


def _optional(decoder: Decoder) -> Decoder:
    """JSON null reads as absent."""
    return lambda value: None if value is None else decoder(value)


def _identifiers(value: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise problems.malformed("'identifiers' must be a non-empty array")
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise problems.malformed("each identifier must be an object with type and value")
        kind, text = item.get("type"), item.get("value")
        if not isinstance(kind, str) or not isinstance(text, str):
            raise problems.malformed("each identifier needs string 'type' and 'value'")
        out.append({"type": kind, "value": text})
    return tuple(out)


def _reason(value: Any) -> RevocationReason | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise problems.malformed("'reason' must be an integer")
    try:
        return RevocationReason(value)
    except ValueError:
        # RFC 8555 §7.6 / RFC 5280 §5.3.1: only defined CRLReason codes.
        raise problems.bad_revocation_reason(f"{value} is not a CRLReason code") from None


class _Message(JSONObjectWithFields):
    """Base for request payloads: ``parse`` or ``malformed``."""

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        """Parse a JWS payload into this message; raises ``malformed`` on any defect."""
        if not payload:
            raise problems.malformed(
                f"{cls.__name__} request needs a JSON payload, not POST-as-GET"
            )
        return cls.from_object(json_object(payload, f"{cls.__name__} payload"))

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> Self:
        """Build from an already decoded JSON object; raises ``malformed``."""
        try:
            return cls.from_json(obj)
        except jose_errors.DeserializationError as exc:
            # josepy reports missing required members this way.
            raise problems.malformed(f"{cls.__name__}: {exc}") from None


class NewAccount(_Message):
    """RFC 8555 §7.3 newAccount request."""

    contact: tuple[str, ...] | None = field(
        "contact", omitempty=True, decoder=_optional(_strings("contact"))
    )
    terms_of_service_agreed: bool | None = field(
        "termsOfServiceAgreed", omitempty=True, decoder=_optional(_boolean("termsOfServiceAgreed"))
    )
    only_return_existing: bool = field(
        "onlyReturnExisting",
        default=False,
        omitempty=True,
        decoder=lambda v: False if v is None else _boolean("onlyReturnExisting")(v),
    )
    external_account_binding: dict[str, Any] | None = field(
        "externalAccountBinding",
        omitempty=True,
        decoder=_optional(_object("externalAccountBinding")),
    )


class AccountUpdate(_Message):
    """RFC 8555 §7.3.2 / §7.3.3 / §7.3.6: update or deactivate an account.

    ``contact`` None means unchanged; an empty tuple removes every contact.
    """

    contact: tuple[str, ...] | None = field(
        "contact", omitempty=True, decoder=_optional(_strings("contact"))
    )
    status: str | None = field("status", omitempty=True, decoder=_optional(_string("status")))
    terms_of_service_agreed: bool | None = field(
        "termsOfServiceAgreed", omitempty=True, decoder=_optional(_boolean("termsOfServiceAgreed"))
    )


class NewOrder(_Message):
    """RFC 8555 §7.4 newOrder; ``replaces`` is ARI (RFC 9773 §5), ``profile`` the ACME
    profiles extension. Dates stay RFC 3339 strings for ``authority`` to judge."""

    identifiers: tuple[dict[str, str], ...] = field("identifiers", decoder=_identifiers)
    not_before: str | None = field(
        "notBefore", omitempty=True, decoder=_optional(_string("notBefore"))
    )
    not_after: str | None = field(
        "notAfter", omitempty=True, decoder=_optional(_string("notAfter"))
    )
    replaces: str | None = field("replaces", omitempty=True, decoder=_optional(_string("replaces")))
    profile: str | None = field("profile", omitempty=True, decoder=_optional(_string("profile")))


class Finalize(_Message):
    """RFC 8555 §7.4 finalize: ``csr`` is the DER bytes (base64url on the wire)."""

    csr: bytes = field("csr", decoder=_base64("csr"), encoder=b64url_encode)


class NewAuthorization(_Message):
    """RFC 8555 §7.4.1 newAuthz (pre-authorization): one identifier, never a wildcard."""

    identifier: dict[str, str] = field(
        "identifier", decoder=lambda v: _identifiers([v] if isinstance(v, dict) else v)[0]
    )


class AuthorizationUpdate(_Message):
    """RFC 8555 §7.5.2 deactivation: ``{"status": "deactivated"}``."""

    status: str = field("status", decoder=_string("status"))


class Revocation(_Message):
    """RFC 8555 §7.6 revokeCert: ``certificate`` DER bytes, optional CRLReason."""

    certificate: bytes = field("certificate", decoder=_base64("certificate"), encoder=b64url_encode)
    reason: RevocationReason | None = field("reason", omitempty=True, decoder=_reason)


class KeyChange(_Message):
    """RFC 8555 §7.3.5 keyChange: the outer payload is the inner flattened JWS.

    Pass :attr:`jws` to ``jws.parse_key_change_inner`` to verify it.
    """

    protected: str = field("protected", decoder=_string("protected"))
    payload: str = field("payload", decoder=_string("payload"))
    signature: str = field("signature", decoder=_string("signature"))

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> Self:
        check_flattened(obj)  # extra members (header, signatures) are not extensions here
        return super().from_object(obj)

    @property
    def jws(self) -> dict[str, str]:
        """The inner JWS as a JSON object."""
        return {"protected": self.protected, "payload": self.payload, "signature": self.signature}
