"""Backend `pkcs11`: the signing key lives in a PKCS#11 token (an HSM; SoftHSM2 in tests).

The key never leaves the token. Leaves, CRLs, OCSP answers and the delegated OCSP responder's
certificate are all signed through it: the backend is a LocalCA whose issuer key is a token key
(pkcs11_keys.py), signing through a bounded session pool (pkcs11_sessions.py). Start-up runs
the checks of the file backend (CA:TRUE, keyCertSign, validity, chain, the key matches the
certificate), each error naming the token and key.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import PKCS11Error
from pkcs11.types import PublicKey, Session, SignMixin
from pkcs11.util.ec import encode_ec_public_key

from acmeeh.config.settings import CASettings, Pkcs11Settings
from acmeeh.issuance.backend import (
    BackendContext,
    CAError,
    check_chain,
    check_issuer,
    check_key_matches,
)
from acmeeh.issuance.backends.file import leaf_options
from acmeeh.issuance.backends.pkcs11_keys import TokenECKey, TokenRSAKey
from acmeeh.issuance.backends.pkcs11_sessions import SessionPool, TokenAddress, load_library
from acmeeh.issuance.keyfiles import IssuerKey, read_certificate, read_certificates
from acmeeh.issuance.local import LocalCA, signature_hash, verify_signature


def address(cfg: Pkcs11Settings) -> TokenAddress:
    """The configured token and key; CAError naming the missing setting."""
    if not cfg.module:
        raise CAError("ca.pkcs11.module is required with ca.backend pkcs11")
    if not cfg.token_label and cfg.slot is None:
        raise CAError("ca.pkcs11.token_label or ca.pkcs11.slot is required with ca.backend pkcs11")
    if not cfg.key_label and not cfg.key_id:
        raise CAError("ca.pkcs11.key_label or ca.pkcs11.key_id is required with ca.backend pkcs11")
    return TokenAddress(module=cfg.module, token_label=cfg.token_label, slot=cfg.slot,
                        key_label=cfg.key_label,
                        key_id=bytes.fromhex(cfg.key_id) if cfg.key_id else None)


def load(ca: CASettings, context: BackendContext) -> LocalCA:
    """Open the token, find the key, check it against the CA certificate; a ready backend.

    Raises CAError naming the setting, token and key: no library, token or key, a refused PIN,
    a key of another type than RSA or EC, a certificate that is not a signing CA or does not
    match the key, a ca.chain that does not link up.
    """
    if ca.key:
        raise CAError("ca.key must be empty with ca.backend pkcs11: the key is in the token")
    where = address(ca.pkcs11)
    pool = SessionPool(load_library(where.module), where, ca.pkcs11.pin,
                       size=ca.pkcs11.max_sessions, wait_seconds=ca.pkcs11.session_wait_seconds)
    return _build(ca, context, where, pool)


def _build(ca: CASettings, context: BackendContext, where: TokenAddress,
           pool: SessionPool) -> LocalCA:
    try:
        with pool.leased() as lease, pool.call_lock:
            certificate, label = _certificate(ca, lease.session, where)
            key = _token_key(lease.session, lease.key, where, pool, certificate)
    except PKCS11Error as exc:
        raise CAError(f"{where.describe_key()}: reading it failed: {type(exc).__name__}") from None
    chain = read_certificates(ca.chain, "ca.chain") if ca.chain else []
    check_issuer(certificate, label, context.clock())
    check_key_matches(certificate, key, f"ca.pkcs11: the {where.describe_key()}",
                      Path(ca.certificate or label))
    try:
        verify_signature(certificate.public_key(), key, b"acmeeh start-up check",
                         signature_hash(key, ca.hash))
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise CAError(f"ca.pkcs11: the {where.describe_key()} cannot make a signature {label} "
                      f"verifies ({type(exc).__name__})") from None
    if chain:
        check_chain(certificate, chain, f"ca.chain: {ca.chain}")
    backend = LocalCA(certificate=certificate, key=key, chain=chain, backend_name="pkcs11",
                      state=pool.state, **leaf_options(ca, context))
    backend.check()
    return backend


def _certificate(ca: CASettings, session: Session,
                 where: TokenAddress) -> tuple[x509.Certificate, str]:
    """ca.certificate, or the token's certificate object with the key's label and/or id."""
    if ca.certificate:
        return read_certificate(Path(ca.certificate), "ca.certificate"), \
            f"ca.certificate: {ca.certificate}"
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                      **where.attributes()}))
    if len(found) != 1:
        raise CAError(f"ca.certificate is empty and the {where.describe_key()} has "
                      f"{len(found) or 'no'} certificate objects beside it (one is needed)")
    try:
        certificate = x509.load_der_x509_certificate(found[0][Attribute.VALUE])
    except (ValueError, PKCS11Error) as exc:
        raise CAError(f"the certificate object of the {where.describe_key()} cannot be "
                      f"read: {exc}") from None
    return certificate, f"the certificate of the {where.describe_key()}"


def _token_key(session: Session, private: SignMixin, where: TokenAddress, pool: SessionPool,
               certificate: x509.Certificate) -> IssuerKey:
    """The cryptography view of the token key, its public half read from the token."""
    name = where.describe_key()
    if private.key_type == KeyType.RSA:
        public = rsa.RSAPublicNumbers(
            int.from_bytes(private[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(private[Attribute.MODULUS], "big"),
        ).public_key()
        return TokenRSAKey(pool.sign, public, name)
    if private.key_type == KeyType.EC:
        return TokenECKey(pool.sign, _ec_public(session, where, certificate), name)
    raise CAError(f"ca.pkcs11: the {name} is of type {private.key_type.name}; RSA or EC is needed")


def _ec_public(session: Session, where: TokenAddress,
               certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    """The public key object beside the private one; a private EC key object carries no point
    (CKA_EC_POINT is a public-key attribute), so without one the certificate's key is taken and
    the start-up signature check proves the pair."""
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                                      **where.attributes()}))
    if len(found) == 1 and isinstance(found[0], PublicKey):
        loaded = serialization.load_der_public_key(encode_ec_public_key(found[0]))
    else:
        loaded = certificate.public_key()
    if not isinstance(loaded, ec.EllipticCurvePublicKey):
        raise CAError(f"ca.pkcs11: the public key of the {where.describe_key()} is not EC")
    return loaded
