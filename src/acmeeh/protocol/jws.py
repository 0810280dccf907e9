"""JWS for ACME (RFC 8555 §6.2, RFC 7515): a strict policy on top of josepy.

josepy supplies the key types and signature algorithms; the policy is ours. Only
the flattened serialization with one signature and a protected header is read;
``none`` and MACs never sign a request (MACs only bind external accounts, §7.3.4);
``crit``/``b64`` are refused rather than half-understood. Every parse failure is a
``malformed`` problem, never another exception.
"""

from __future__ import annotations

import base64
import hmac as stdlib_hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from josepy import jwa
from josepy.jwk import JWK, JWKEC, JWKRSA

from acmeeh.protocol import keys, problems

EDDSA = "EdDSA"
_SIGNERS: dict[str, jwa.JWASignature] = {
    "RS256": jwa.RS256, "RS384": jwa.RS384, "RS512": jwa.RS512,
    "PS256": jwa.PS256, "PS384": jwa.PS384, "PS512": jwa.PS512,
    "ES256": jwa.ES256, "ES384": jwa.ES384, "ES512": jwa.ES512,
}  # fmt: skip
SUPPORTED_ALGS: tuple[str, ...] = (*_SIGNERS, EDDSA)
_HMACS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "HS256": hashes.SHA256,
    "HS384": hashes.SHA384,
    "HS512": hashes.SHA512,
}
# RFC 7518 §3.4: each ECDSA alg is bound to one curve.
_ES_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_CURVES: dict[str, tuple[type[ec.EllipticCurve], int]] = {
    "P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48), "P-521": (ec.SECP521R1, 66),
}  # fmt: skip
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_PRIVATE_MEMBERS = {
    "RSA": frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"}),
    "EC": frozenset({"d"}),
    "OKP": frozenset({"d"}),
}
_MAX_RSA_BITS = 16384  # with e < 2**256, bounds the cost of verifying a client's key
_FLAT_MEMBERS = frozenset({"protected", "payload", "signature"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


# --- encodings -------------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: Any, what: str) -> bytes:
    """Strict base64url without padding; anything else is ``malformed`` naming ``what``."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise problems.malformed(f"{what} is not base64url without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:  # stray low bits: not the one canonical encoding
        raise problems.malformed(f"{what} is not canonical base64url")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # RFC 7515 §5.2 step 4: reject duplicate header parameter names.
        raise ValueError("duplicate member name")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_object(data: bytes | str, what: str) -> dict[str, Any]:
    """UTF-8 JSON text that must be an object (no duplicate names, no NaN) else ``malformed``."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError, TypeError):
        raise problems.malformed(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise problems.malformed(f"{what} must be a JSON object")
    return value


# --- keys ------------------------------------------------------------------------------


class JWKOKP(JWK):
    """Ed25519 public key as an OKP JWK (RFC 8037 §2); josepy has no OKP type.

    Deliberately not registered in josepy's global ``JWK.TYPES``: build it with
    :func:`parse_jwk` or ``JWKOKP(key=...)``. It never serializes private material.
    """

    typ = "OKP"
    __slots__ = ("key",)
    cryptography_key_types = (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)
    required = ("crv", JWK.type_field_name, "x")

    def public_key(self) -> JWKOKP:
        key = self.key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            key = key.public_key()
        return JWKOKP(key=key)

    def fields_to_partial_json(self) -> dict[str, str]:
        raw = self.public_key().key.public_bytes_raw()
        return {"crv": "Ed25519", "x": b64url_encode(raw)}

    @classmethod
    def fields_from_json(cls, jobj: Any) -> JWKOKP:
        return _parse_okp(jobj)  # type: ignore[return-value]

    @classmethod
    def from_json(cls, jobj: Any) -> JWKOKP:
        return _parse_okp(jobj)  # type: ignore[return-value]

    def __hash__(self) -> int:
        return hash((self.typ, self.public_key().key.public_bytes_raw()))


def _member(obj: dict[str, Any], name: str, size: int | None = None) -> bytes:
    data = b64url_decode(obj.get(name), f"jwk member {name!r}")
    if not data or (size is not None and len(data) != size):
        raise problems.malformed(f"jwk member {name!r} has the wrong length")
    return data


def _parse_okp(obj: dict[str, Any]) -> JWK:
    if obj.get("crv") != "Ed25519":
        raise problems.malformed("only the Ed25519 OKP curve is supported")
    return JWKOKP(key=ed25519.Ed25519PublicKey.from_public_bytes(_member(obj, "x", 32)))


def _parse_rsa(obj: dict[str, Any]) -> JWK:
    n = int.from_bytes(_member(obj, "n"), "big")
    e = int.from_bytes(_member(obj, "e"), "big")
    if n.bit_length() > _MAX_RSA_BITS or e.bit_length() > 256:
        raise problems.malformed("RSA modulus or exponent is too large")
    return JWKRSA(key=rsa.RSAPublicNumbers(e=e, n=n).public_key())


def _parse_ec(obj: dict[str, Any]) -> JWK:
    crv = obj.get("crv")
    if not isinstance(crv, str) or crv not in _CURVES:
        raise problems.malformed("jwk crv must be P-256, P-384 or P-521")
    curve, size = _CURVES[crv]
    # RFC 7518 §6.2.1.2: x and y are exactly the coordinate size, leading zeros kept.
    x = int.from_bytes(_member(obj, "x", size), "big")
    y = int.from_bytes(_member(obj, "y", size), "big")
    return JWKEC(key=ec.EllipticCurvePublicNumbers(x=x, y=y, curve=curve()).public_key())


_PARSERS = {"RSA": _parse_rsa, "EC": _parse_ec, "OKP": _parse_okp}


def parse_jwk(obj: Any) -> JWK:
    """A JSON jwk to a josepy public JWK; bad members, private material or oct keys →
    malformed; members that make no usable key → badPublicKey."""
    if not isinstance(obj, dict):
        raise problems.malformed("jwk must be a JSON object")
    kty = obj.get("kty")
    if kty == "oct":
        raise problems.malformed("symmetric (oct) keys cannot sign requests")
    if not isinstance(kty, str) or kty not in _PARSERS:
        raise problems.malformed(f"unsupported jwk key type {kty!r}")
    if _PRIVATE_MEMBERS[kty].intersection(obj):
        raise problems.malformed("jwk contains private key material")
    try:
        return _PARSERS[kty](obj)
    except (ValueError, TypeError, OverflowError) as exc:
        # Well-formed members that make no usable key (an EC point off its curve or at
        # infinity, an RSA exponent below 3): RFC 8555 §6.7 badPublicKey, not a syntax error.
        reason = str(exc).splitlines()[0][:120] if isinstance(exc, ValueError) else "bad numbers"
        raise problems.bad_public_key(
            f"jwk is not a usable public key ({keys.UNUSABLE_RULE}): {reason}"
        ) from None


_PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


def public_key_of(key: JWK) -> Any:
    """The cryptography public key inside a josepy JWK (unwrapping josepy's Comparable*).

    For an ``oct`` JWK this is the raw bytes, which every check then refuses."""
    inner = getattr(key.key, "_wrapped", key.key)
    if isinstance(inner, _PRIVATE_KEYS):  # josepy rebuilds the key on every public_key() call
        return inner.public_key()
    return inner


def thumbprint(jwk: JWK) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url."""
    return b64url_encode(jwk.public_key().thumbprint(hashes.SHA256))


def jwk_equal(a: JWK | dict[str, Any], b: JWK | dict[str, Any]) -> bool:
    """Whether two keys (JWK objects or JSON jwks) are the same public key (by thumbprint)."""
    ja = a if isinstance(a, JWK) else parse_jwk(a)
    jb = b if isinstance(b, JWK) else parse_jwk(b)
    return stdlib_hmac.compare_digest(thumbprint(ja), thumbprint(jb))


def key_authorization(token: str, jwk: JWK) -> str:
    """RFC 8555 §8.1: ``token || '.' || base64url(Thumbprint(accountKey))``."""
    return key_authorization_for(token, thumbprint(jwk))


def key_authorization_for(token: str, account_thumbprint: str) -> str:
    """The key authorization from the account key's stored RFC 7638 thumbprint."""
    return f"{token}.{account_thumbprint}"


# --- signatures ------------------------------------------------------------------------


def verify_signature(alg: str, key: JWK, signing_input: bytes, signature: bytes) -> None:
    """Check ``signature`` with ``key`` under ``alg``; mismatched key type or bad signature
    → malformed. Never accepts ``none`` or a MAC."""
    raw = public_key_of(key)
    if alg == EDDSA:
        if not isinstance(raw, ed25519.Ed25519PublicKey):
            raise problems.malformed("EdDSA needs an Ed25519 (OKP) key")
        try:
            raw.verify(signature, signing_input)
        except InvalidSignature:
            raise problems.malformed("JWS signature is invalid") from None
        return
    signer = _SIGNERS.get(alg)
    if signer is None:
        raise problems.malformed(f"alg {alg!r} cannot verify a signature")
    if alg[:2] in ("RS", "PS"):
        if not isinstance(raw, rsa.RSAPublicKey):
            raise problems.malformed(f"{alg} needs an RSA key")
    elif not (
        isinstance(raw, ec.EllipticCurvePublicKey)
        and _CURVE_NAMES.get(raw.curve.name) == _ES_CURVE[alg]
    ):
        raise problems.malformed(f"{alg} needs an EC key on {_ES_CURVE[alg]}")
    try:
        ok = signer.verify(raw, signing_input, signature)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise problems.malformed("JWS signature is invalid")


class _Flat(NamedTuple):
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def check_flattened(obj: Any) -> None:
    """``obj`` must be a flattened JWS (RFC 7515 §7.2.2): exactly protected/payload/signature."""
    if not isinstance(obj, dict):
        raise problems.malformed("JWS must be a JSON object in flattened serialization")
    if "signatures" in obj:
        raise problems.malformed("general JWS serialization is not accepted; send one signature")
    if "header" in obj:
        raise problems.malformed("unprotected JWS header is not accepted")
    if set(obj) != _FLAT_MEMBERS:
        raise problems.malformed("JWS must have exactly the members protected, payload, signature")


def _flattened(obj: Any) -> _Flat:
    check_flattened(obj)
    protected, payload = obj["protected"], obj["payload"]
    header = json_object(b64url_decode(protected, "JWS protected header"), "JWS protected header")
    body = b64url_decode(payload, "JWS payload")  # "" → b"": POST-as-GET (RFC 8555 §6.3)
    # An empty signature is left for verification to refuse, after the alg check: an
    # unsigned JWS ("alg": "none") must be answered badSignatureAlgorithm.
    signature = b64url_decode(obj["signature"], "JWS signature")
    # RFC 7515 §4.1.11 / RFC 7797: we understand no critical extension, b64 included.
    for name in ("crit", "b64"):
        if name in header:
            raise problems.malformed(f"JWS header parameter {name!r} is not supported")
    return _Flat(header, body, f"{protected}.{payload}".encode("ascii"), signature)


def _text(header: dict[str, Any], name: str) -> str:
    value = header.get(name)
    if not isinstance(value, str) or not value:
        raise problems.malformed(f"JWS protected header {name!r} must be a non-empty string")
    return value


def _check_alg(header: dict[str, Any], allowed_algs: Iterable[str]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise problems.malformed("JWS protected header 'alg' must be a non-empty string")
    # RFC 8555 §6.2: never "none", never a MAC, whatever the configuration says.
    accepted = [a for a in dict.fromkeys(allowed_algs) if a in SUPPORTED_ALGS]
    if alg not in accepted:
        raise problems.bad_signature_algorithm(f"JWS alg {alg!r} is not accepted", accepted)
    return alg


@dataclass(frozen=True)
class ParsedJWS:
    """An ACME request JWS whose protected header has been checked, not yet its signature."""

    alg: str
    nonce: str
    url: str
    kid: str | None
    jwk: JWK | None
    payload: bytes
    protected: dict[str, Any] = field(hash=False)
    signing_input: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def verify(self, key: JWK) -> None:
        """Raise ``malformed`` unless the signature verifies with ``key`` under ``alg``."""
        verify_signature(self.alg, key, self.signing_input, self.signature)


def _header_jwk(header: dict[str, Any], alg: str, max_rsa_bits: int) -> JWK:
    """The protected header's jwk, checked before any signature work: an ``alg`` member
    (RFC 7517 §4.4) must name the header's alg (malformed), and an RSA modulus over the
    key policy's size is refused (badPublicKey) rather than used to verify."""
    obj = header["jwk"]
    if isinstance(obj, dict) and "alg" in obj and obj["alg"] != alg:
        raise problems.malformed(f"the jwk's alg {obj['alg']!r} is not the JWS alg {alg!r}")
    key = parse_jwk(obj)
    raw = public_key_of(key)
    if isinstance(raw, rsa.RSAPublicKey) and raw.key_size > max_rsa_bits:
        raise problems.bad_public_key(f"RSA keys are limited to {max_rsa_bits} bits")
    return key


def parse(body: bytes, allowed_algs: Iterable[str], max_rsa_bits: int = _MAX_RSA_BITS) -> ParsedJWS:
    """Parse an ACME request body (RFC 8555 §6.2): flattened JWS, alg allowed, exactly one
    of jwk/kid, nonce and url present. Raises malformed, badSignatureAlgorithm, or
    badPublicKey for a jwk over `max_rsa_bits`."""
    flat = _flattened(json_object(body, "request body"))
    header = flat.header
    alg = _check_alg(header, allowed_algs)
    nonce = header.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        # RFC 8555 §6.5: a missing nonce is answered like a bad one.
        raise problems.bad_nonce("JWS protected header 'nonce' must be a non-empty string")
    url = _text(header, "url")
    if ("jwk" in header) == ("kid" in header):
        raise problems.malformed("JWS protected header must have exactly one of jwk and kid")
    kid = _text(header, "kid") if "kid" in header else None
    jwk = _header_jwk(header, alg, max_rsa_bits) if "jwk" in header else None
    return ParsedJWS(
        alg, nonce, url, kid, jwk, flat.payload, header, flat.signing_input, flat.signature
    )


def parse_key_change_inner(
    obj: Any, outer_url: str, allowed_algs: Iterable[str], max_rsa_bits: int = _MAX_RSA_BITS
) -> tuple[JWK, dict[str, Any]]:
    """Check the inner JWS of a key change (RFC 8555 §7.3.5) and return (new key, payload).

    The caller still compares ``payload["account"]`` with the account URL and
    ``payload["oldKey"]`` with the current key (see :func:`jwk_equal`).
    """
    flat = _flattened(obj)
    header = flat.header
    alg = _check_alg(header, allowed_algs)
    if "kid" in header or "jwk" not in header:
        raise problems.malformed("inner keyChange JWS must carry the new key as jwk, not kid")
    if "nonce" in header:
        raise problems.malformed("inner keyChange JWS must not have a nonce")
    if _text(header, "url") != outer_url:
        raise problems.malformed("inner keyChange JWS url differs from the outer url")
    new_jwk = _header_jwk(header, alg, max_rsa_bits)
    verify_signature(alg, new_jwk, flat.signing_input, flat.signature)
    payload = json_object(flat.payload, "keyChange payload")
    account = payload.get("account")
    if not isinstance(account, str) or not account:
        raise problems.malformed("keyChange payload 'account' must be a non-empty string")
    if not isinstance(payload.get("oldKey"), dict):
        raise problems.malformed("keyChange payload 'oldKey' must be a jwk object")
    return new_jwk, payload


def _eab(eab: Any) -> tuple[_Flat, str, str]:
    flat = _flattened(eab)
    alg = flat.header.get("alg")
    if not isinstance(alg, str) or alg not in _HMACS:
        # RFC 8555 §7.3.4: the binding is MAC-based; here, and only here, HS* is right.
        raise problems.malformed("externalAccountBinding alg must be HS256, HS384 or HS512")
    if "nonce" in flat.header:
        raise problems.malformed("externalAccountBinding must not have a nonce")
    return flat, alg, _text(flat.header, "kid")


def eab_kid(eab: Any) -> str:
    """The key identifier of an external account binding, so the caller can fetch its key."""
    return _eab(eab)[2]


def verify_eab(
    eab: Any, *, hmac_key: bytes, expected_kid: str | None, url: str, account_jwk: JWK
) -> str:
    """Verify an external account binding (RFC 8555 §7.3.4) and return its kid.

    Raises malformed (structure, url, payload not the account key) or unauthorized
    (kid mismatch, bad MAC).
    """
    flat, alg, kid = _eab(eab)
    if expected_kid is not None and not stdlib_hmac.compare_digest(
        kid.encode("utf-8"), expected_kid.encode("utf-8")
    ):
        raise problems.unauthorized("externalAccountBinding key identifier does not match")
    if _text(flat.header, "url") != url:
        raise problems.malformed("externalAccountBinding url must be the newAccount url")
    if not hmac_key:
        raise problems.unauthorized("external account key is not usable")
    mac = hmac.HMAC(hmac_key, _HMACS[alg]())
    mac.update(flat.signing_input)
    try:
        mac.verify(flat.signature)
    except InvalidSignature:
        raise problems.unauthorized("externalAccountBinding MAC is invalid") from None
    bound = parse_jwk(json_object(flat.payload, "externalAccountBinding payload"))
    if not jwk_equal(bound, account_jwk):
        raise problems.malformed("externalAccountBinding payload is not the account key")
    return kid
