"""issue_dev_tls: a TLS server certificate from the development CA, for a demo's reverse proxy
(the compose lab's nginx), so clients that trust the development root trust the proxy too."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acmeeh.issuance.devca import DevCA
from acmeeh.issuance.keyfiles import CAError, write_atomic

TLS_CERT_NAME = "tls.pem"
TLS_KEY_NAME = "tls-key.pem"
# Below the 398 days TLS libraries accept for a server certificate.
TLS_LIFETIME = timedelta(days=365)
BACKDATE = timedelta(minutes=5)


def issue_dev_tls(ca: DevCA, names: list[str]) -> tuple[Path, Path]:
    """Return (chain path, key path) of a TLS server certificate for `names` (DNS names or IP
    addresses), signed by the development CA's intermediate, beside its files.

    The chain file holds the leaf then the intermediate, as a TLS server sends them. An existing
    pair is returned untouched. Raises CAError when the CA files are unusable, ValueError when
    `names` is empty.
    """
    if not names:
        raise ValueError("at least one name is needed for a TLS certificate")
    cert_path, key_path = ca.key.parent / TLS_CERT_NAME, ca.key.parent / TLS_KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    try:
        issuer_key = serialization.load_pem_private_key(ca.key.read_bytes(), None)
        issuer = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
    except (OSError, ValueError, TypeError):
        raise CAError(f"development CA: no usable issuing CA in {ca.key.parent}") from None
    if not isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        raise CAError(f"development CA: {ca.key} is not an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.now(UTC).replace(microsecond=0) - BACKDATE
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(start + TLS_LIFETIME, issuer.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, issuer))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_atomic(key_path, pem, 0o600)  # key first: a certificate on disk always has its key
    write_atomic(cert_path, chain, 0o644)
    return cert_path, key_path


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
