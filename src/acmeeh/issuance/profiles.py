"""Build the leaf certificate: subject, subjectAltName, extensions and validity (RFC 5280),
shaped by a certificate profile (LeafProfile).

The names come from the order's identifiers, never from the CSR (RFC 8555 §7.4: the CSR was
already compared with the order by the caller); only the CSR's public key is used.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from acmeeh.issuance.keyfiles import CAError

if TYPE_CHECKING:
    from acmeeh.protocol.identifiers import Identifier

E = TypeVar("E", bound=x509.ExtensionType)

# RFC 5280 Appendix A: ub-common-name INTEGER ::= 64
MAX_CN_LENGTH = 64

# The key usages a leaf profile may name (RFC 5280 §4.2.1.3); keyCertSign and cRLSign are a CA's.
KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
)
# The extended key usages a leaf profile may name (RFC 5280 §4.2.1.12).
EXTENDED_KEY_USAGES: dict[str, x509.ObjectIdentifier] = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "time_stamping": ExtendedKeyUsageOID.TIME_STAMPING,
}

LEAF_KEY_TYPES = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)


@dataclass(frozen=True)
class IssuedCertificate:
    """A signed leaf as the authority stores and serves it."""

    serial_hex: str  # lowercase hex of the serial number, no leading zeros
    der: bytes  # the leaf alone
    pem_chain: str  # leaf PEM, then the issuer PEM, then ca.chain PEMs
    not_before: datetime  # UTC aware
    not_after: datetime  # UTC aware
    fingerprint_sha256: str  # hex of SHA-256 over the leaf DER
    spki_sha256: str  # hex of SHA-256 over the leaf SubjectPublicKeyInfo DER


@dataclass(frozen=True)
class LeafProfile:
    """What a certificate profile decides about the leaf itself: its lifetime, key usage,
    extended key usage and whether the subject carries a CN. The authority builds it from
    `ca.profiles` (authority.profiles.leaf_profile) and hands it to CABackend.plan and sign;
    the defaults are the `tlsserver` profile of the schema.

    keyEncipherment is set for RSA keys only: it means RSA key transport, which no other key
    type does (RFC 5280 §4.2.1.3, RFC 8813 §3).
    """

    name: str = "tlsserver"
    validity_days: int = 90
    key_usage: tuple[str, ...] = ("digital_signature", "key_encipherment")
    extended_key_usage: tuple[str, ...] = ("server_auth",)
    common_name: bool = True

    def __post_init__(self) -> None:
        unknown = [u for u in self.key_usage if u not in KEY_USAGES]
        unknown += [u for u in self.extended_key_usage if u not in EXTENDED_KEY_USAGES]
        if unknown:
            raise CAError(f"profile {self.name}: unknown key usage {', '.join(unknown)}")
        if not self.extended_key_usage:
            raise CAError(f"profile {self.name}: no extended key usage")

    def key_usage_for(self, public_key: object) -> x509.KeyUsage:
        """The keyUsage extension for a leaf of `public_key`; CAError when none is left."""
        usages = set(self.key_usage)
        if not isinstance(public_key, rsa.RSAPublicKey):
            usages.discard("key_encipherment")
        if not usages:
            raise CAError(f"profile {self.name} leaves a {type(public_key).__name__} no key usage")
        return x509.KeyUsage(
            **{name: name in usages for name in KEY_USAGES},
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )

    def extended_key_usage_ext(self) -> x509.ExtendedKeyUsage:
        return x509.ExtendedKeyUsage([EXTENDED_KEY_USAGES[u] for u in self.extended_key_usage])


@dataclass(frozen=True)
class LeafPlan:
    """A leaf decided before it is signed: its serial and validity (the authority records
    them first, so no serial is ever signed that the database does not know)."""

    serial: int
    not_before: datetime  # UTC aware, whole seconds
    not_after: datetime

    @property
    def serial_hex(self) -> str:
        """As IssuedCertificate.serial_hex: lowercase hex, no leading zeros."""
        return format(self.serial, "x")


def unique_identifiers(identifiers: Iterable[Identifier]) -> list[Identifier]:
    """Identifiers in the given order with duplicates removed; CAError when none is left."""
    seen: set[tuple[str, str]] = set()
    out: list[Identifier] = []
    for ident in identifiers:
        key = (str(ident.type), ident.value)
        if key not in seen:
            seen.add(key)
            out.append(ident)
    if not out:
        raise CAError("no identifiers to put in the certificate")
    return out


def general_names(identifiers: Sequence[Identifier]) -> list[x509.GeneralName]:
    """subjectAltName entries: dNSName for dns (wildcards as "*.x"), iPAddress for ip (RFC 8738)."""
    names: list[x509.GeneralName] = []
    for ident in identifiers:
        kind = str(ident.type)
        if kind == "dns":
            names.append(x509.DNSName(ident.value))
        elif kind == "ip":
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(ident.value)))
            except ValueError:
                raise CAError(f"ip identifier {ident.value!r} is not an IP address") from None
        else:
            raise CAError(f"unsupported identifier type {kind!r}")
    return names


def leaf_subject(identifiers: Sequence[Identifier]) -> x509.Name:
    """CN = the first dns identifier that fits in 64 characters; empty when none does."""
    for ident in identifiers:
        if str(ident.type) == "dns" and len(ident.value) <= MAX_CN_LENGTH:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ident.value)])
    return x509.Name([])


def leaf_validity(
    now: datetime,
    issuer: x509.Certificate,
    *,
    backdate_seconds: int,
    validity_days: int,
) -> tuple[datetime, datetime]:
    """(notBefore, notAfter): now - backdate, plus validity_days, kept inside the issuer's validity.

    X.509 times have whole seconds, so microseconds are dropped first.
    """
    if now.tzinfo is None:
        raise ValueError("clock must return an aware datetime")
    if validity_days < 1:
        raise CAError(f"validity_days must be at least 1, got {validity_days}")
    if now >= issuer.not_valid_after_utc:
        raise CAError(f"the CA certificate expired at {issuer.not_valid_after_utc.isoformat()}")
    start = now.replace(microsecond=0) - timedelta(seconds=backdate_seconds)
    # A leaf should not claim validity the issuer does not have (e.g. a CA created a moment ago).
    start = max(start, issuer.not_valid_before_utc)
    end = min(start + timedelta(days=validity_days), issuer.not_valid_after_utc)
    if end <= start:
        raise CAError(f"the CA certificate expired at {issuer.not_valid_after_utc.isoformat()}")
    return start, end


def extension_value(certificate: x509.Certificate, kind: type[E]) -> E | None:
    """The value of the certificate's extension of type `kind`, None when it has none."""
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """RFC 5280 §4.2.1.1: the issuer's subjectKeyIdentifier when it has one."""
    ski = extension_value(issuer, x509.SubjectKeyIdentifier)
    if ski is None:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def build_leaf(
    public_key: object,
    identifiers: Sequence[Identifier],
    *,
    issuer: x509.Certificate,
    not_before: datetime,
    not_after: datetime,
    profile: LeafProfile,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    serial: int | None = None,
) -> x509.CertificateBuilder:
    """An unsigned leaf for `public_key` naming `identifiers`, shaped by `profile`.

    Raises CAError for an unsupported key type, an empty or malformed identifier list.
    """
    if not isinstance(public_key, LEAF_KEY_TYPES):
        raise CAError(f"unsupported certificate key type {type(public_key).__name__}")
    idents = unique_identifiers(identifiers)
    subject = leaf_subject(idents) if profile.common_name else x509.Name([])
    # CA/B Forum BR 7.1.2.7.6 / RFC 5280 §4.2.1.2: random serial with >= 64 bits of entropy.
    serial = x509.random_serial_number() if serial is None else serial
    builder = (
        x509.CertificateBuilder()
        .serial_number(serial)
        .issuer_name(issuer.subject)
        .subject_name(subject)
        .public_key(public_key)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # RFC 5280 §4.2.1.6: SAN MUST be critical when the subject is empty.
        .add_extension(
            x509.SubjectAlternativeName(general_names(idents)), critical=len(subject) == 0
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(profile.key_usage_for(public_key), critical=True)
        .add_extension(profile.extended_key_usage_ext(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_identifier(issuer), critical=False)
    )
    if crl_url:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if ocsp_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder


def spki_sha256(certificate: x509.Certificate) -> str:
    """Hex SHA-256 of the certificate's SubjectPublicKeyInfo DER."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def to_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def describe(leaf: x509.Certificate, chain_pem: str) -> IssuedCertificate:
    """The IssuedCertificate record of a signed leaf followed by `chain_pem`."""
    return IssuedCertificate(
        serial_hex=format(leaf.serial_number, "x"),
        der=leaf.public_bytes(serialization.Encoding.DER),
        pem_chain=to_pem(leaf) + chain_pem,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=spki_sha256(leaf),
    )
