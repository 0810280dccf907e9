"""tls-alpn-01 (RFC 8737): a TLS handshake with ALPN "acme-tls/1" must show a validation certificate.

Problem types: handshake trouble or no acme-tls/1 → `tls`; a certificate that is not a
validation certificate for this identifier (SANs, missing or non-critical acmeIdentifier)
→ `unauthorized`; a well-formed acmeIdentifier for another key authorization → `incorrectResponse`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import ssl
import time

from cryptography import x509

from acmeeh.config.settings import TlsAlpn01Settings
from acmeeh.protocol import problems
from acmeeh.protocol.identifiers import Identifier

from .attempt import ValidationAttempt
from .network import Transient, connect, describe_os_error, resolve_target

ACME_TLS_1 = "acme-tls/1"
# RFC 8737 §6.1: id-pe-acmeIdentifier.
ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def server_name(identifier: Identifier) -> str:
    """SNI to send: the DNS name, or for an IP the reverse name (RFC 8738 §6)."""
    if identifier.type == "ip":
        return ipaddress.ip_address(identifier.value).reverse_pointer
    return identifier.value


def expected_extension_value(key_authorization: str) -> bytes:
    """RFC 8737 §3: extnValue = DER OCTET STRING of SHA-256(key authorization)."""
    digest = hashlib.sha256(key_authorization.encode("ascii", "replace")).digest()
    return b"\x04\x20" + digest


def validate(attempt: ValidationAttempt, settings: TlsAlpn01Settings) -> None:
    """Pass silently when the handshake proves control; raise Problem otherwise."""
    identifier = attempt.identifier
    deadline = time.monotonic() + float(settings.timeout_seconds)
    sni = server_name(identifier)
    record: dict = {
        "hostname": identifier.value,
        "port": settings.port,
        "serverName": sni,
        "addressesResolved": [],
    }
    attempt.records.append(record)
    addresses = resolve_target(identifier.value, attempt.resolver, attempt.policy, deadline, record)
    der, alpn = _handshake(addresses, settings.port, sni, deadline, record)
    if alpn != ACME_TLS_1:
        raise problems.tls(
            f"{identifier.value}:{settings.port} did not negotiate the {ACME_TLS_1} protocol"
        )
    check_certificate(der, identifier, attempt.key_authorization)


def _handshake(
    addresses: list, port: int, sni: str, deadline: float, record: dict
) -> tuple[bytes, str | None]:
    sock = connect(addresses, port, deadline, record)
    where = f"{record['addressUsed']} port {port}"
    try:
        tls = _tls_client().wrap_socket(sock, server_hostname=sni, do_handshake_on_connect=False)
        tls.settimeout(max(deadline - time.monotonic(), 0.001))
        tls.do_handshake()
        der = tls.getpeercert(binary_form=True)
        alpn = tls.selected_alpn_protocol()
    except ssl.SSLError as exc:
        raise problems.tls(
            f"TLS handshake with {where} failed: {exc.reason or describe_os_error(exc)}"
        ) from None
    except TimeoutError:
        raise Transient(problems.connection(f"timeout during TLS handshake with {where}")) from None
    except OSError as exc:
        raise problems.tls(f"TLS handshake with {where} failed: {describe_os_error(exc)}") from None
    finally:
        sock.close()
    if not der:
        raise problems.tls(f"{where} sent no certificate")
    return der, alpn


def _tls_client() -> ssl.SSLContext:
    # RFC 8737 §3: the certificate is self-signed; TLS 1.2 or higher; ALPN acme-tls/1 only.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols([ACME_TLS_1])
    return context


def check_certificate(der: bytes, identifier: Identifier, key_authorization: str) -> None:
    """RFC 8737 §3 checks on the validation certificate; raise Problem on failure."""
    try:
        cert = x509.load_der_x509_certificate(der)
        extensions = cert.extensions
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        # RFC 5280 §4.2: an extension appears at most once; garbage is no validation cert.
        raise problems.unauthorized(
            f"cannot parse the validation certificate: {str(exc).splitlines()[0][:120]}"
        ) from None
    try:
        names = list(extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        raise problems.unauthorized("validation certificate has no subjectAltName") from None
    if len(names) != 1 or not _is_identifier(names[0], identifier):
        shown = ", ".join(_describe(n) for n in names[:4])
        raise problems.unauthorized(
            f"validation certificate must name only {identifier.value} in subjectAltName, has {shown}"
        )
    try:
        acme = extensions.get_extension_for_oid(ACME_IDENTIFIER)
    except x509.ExtensionNotFound:
        raise problems.unauthorized(
            "validation certificate has no acmeIdentifier extension"
        ) from None
    if not acme.critical:
        raise problems.unauthorized(
            "acmeIdentifier extension of the validation certificate is not critical"
        )
    value = getattr(acme.value, "value", b"")
    expected = expected_extension_value(key_authorization)
    if len(value) != len(expected) or value[:2] != expected[:2]:
        raise problems.unauthorized(
            "acmeIdentifier extension is not an OCTET STRING of a SHA-256 digest"
        )
    if not hmac.compare_digest(value, expected):
        raise problems.incorrect_response(
            f"acmeIdentifier extension holds {value[2:].hex()}, expected {expected[2:].hex()}"
        )


def _is_identifier(name: x509.GeneralName, identifier: Identifier) -> bool:
    if identifier.type == "ip":
        return isinstance(name, x509.IPAddress) and name.value == ipaddress.ip_address(
            identifier.value
        )
    return isinstance(name, x509.DNSName) and name.value.lower() == identifier.value.lower()


def _describe(name: x509.GeneralName) -> str:
    return f"{type(name).__name__}({str(name.value)[:80]})"
