"""Certificate signing requests at finalize (RFC 8555 §7.4, RFC 2986).

The CA builds the certificate from the order, so only the CSR's key, names and
signature matter: the names must be exactly the order's identifiers, the key must
meet the key policy (protocol.keys), and the signature must use SHA-256 or stronger.
That the key belongs to no account (RFC 8555 §11.1) needs the database: authority
checks it. Requested extensions other than subjectAltName are ignored, not copied.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import NameOID

from acmeeh.protocol import problems
from acmeeh.protocol.identifiers import Identifier, normalize
from acmeeh.protocol.keys import UNUSABLE_RULE, KeyPolicy, key_problem
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import IdentifierType


# RFC 8555 §7.4 leaves the CSR's signature to policy: SHA-1 and MD5 are long broken.
STRONG_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"})


@dataclass(frozen=True)
class ParsedCSR:
    """A CSR whose signature verified, with its normalised names."""

    csr: x509.CertificateSigningRequest
    der: bytes
    public_key: Any
    identifiers: frozenset[Identifier]


def parse_csr(der: bytes) -> ParsedCSR:
    """Decode a DER CSR, check its self-signature and collect its names; else ``badCSR``.

    Names are the SAN dNSName and iPAddress entries plus the subject common names.
    Any other SAN type (email, URI, ...) is refused.
    """
    try:
        csr = x509.load_der_x509_csr(der)
    except (ValueError, TypeError):
        raise problems.bad_csr("CSR is not a valid DER PKCS#10 request") from None
    try:
        public_key = csr.public_key()
    except (ValueError, TypeError) as exc:
        # An EC point off its curve or at infinity, a key that cannot be decoded.
        reason = str(exc).splitlines()[0][:120] if isinstance(exc, ValueError) else "bad numbers"
        raise problems.bad_csr(f"CSR public key is not a usable key ({UNUSABLE_RULE}): {reason}") from None
    except UnsupportedAlgorithm:
        raise problems.bad_csr("CSR public key algorithm is not supported") from None
    try:
        signature_ok = csr.is_signature_valid
        hash_algorithm = csr.signature_hash_algorithm
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise problems.bad_csr("CSR signature algorithm is not supported") from None
    if hash_algorithm is not None and hash_algorithm.name not in STRONG_HASHES:
        # Ed25519 hashes internally (None here); anything else must be SHA-2 of 256 bits or more.
        raise problems.bad_csr(
            f"CSR is signed with {hash_algorithm.name.upper()}; SHA-256 or stronger is required"
        )
    if not signature_ok:
        raise problems.bad_csr("CSR signature is invalid")
    names = _san_names(csr) | _common_names(csr)
    if not names:
        raise problems.bad_csr("CSR contains no names")
    return ParsedCSR(csr, bytes(der), public_key, frozenset(names))


def _identifier(type_: IdentifierType, value: str) -> Identifier:
    try:
        return normalize(type_, value)
    except Problem as problem:
        raise problems.bad_csr(f"CSR name {value!r}: {problem.detail}") from None


def _san_names(csr: x509.CertificateSigningRequest) -> set[Identifier]:
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        raise problems.bad_csr("CSR extension request cannot be decoded") from None
    names: set[Identifier] = set()
    for entry in san:
        if isinstance(entry, x509.DNSName):
            names.add(_identifier(IdentifierType.DNS, entry.value))
        elif isinstance(entry, x509.IPAddress) and isinstance(
            entry.value, (ipaddress.IPv4Address, ipaddress.IPv6Address)
        ):
            names.add(_identifier(IdentifierType.IP, str(entry.value)))
        else:
            raise problems.bad_csr(f"CSR subjectAltName {entry!r} is not a DNS name or IP address")
    return names


def _common_names(csr: x509.CertificateSigningRequest) -> set[Identifier]:
    """Subject CNs count as names too, so a CN outside the SANs cannot slip through."""
    names: set[Identifier] = set()
    for attribute in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = attribute.value
        if not isinstance(value, str):
            raise problems.bad_csr("CSR common name is not a string")
        try:
            ipaddress.ip_address(value.strip())
            kind = IdentifierType.IP
        except ValueError:
            kind = IdentifierType.DNS
        names.add(_identifier(kind, value))
    return names


def check_csr(
    parsed: ParsedCSR, order_identifiers: Iterable[Identifier], *, policy: KeyPolicy
) -> None:
    """Raise ``badCSR`` unless the CSR names exactly the order's identifiers (RFC 8555 §7.4)
    and its key meets the key policy for certificates (the detail names the rule)."""
    wanted = frozenset(order_identifiers)
    missing = sorted(i.value for i in wanted - parsed.identifiers)
    extra = sorted(i.value for i in parsed.identifiers - wanted)
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("not in the order " + ", ".join(extra))
        raise problems.bad_csr("CSR names do not match the order: " + "; ".join(parts))
    reason = key_problem(parsed.public_key, policy)
    if reason:
        raise problems.bad_csr(f"CSR key refused: {reason}")

