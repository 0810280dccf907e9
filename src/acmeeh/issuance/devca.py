"""generate_dev_ca: a throwaway self-signed root for development mode and demos, kept across
restarts; issue_dev_tls: a TLS server certificate from it for a demo's reverse proxy."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acmeeh.issuance.keyfiles import CAError

CERT_NAME = "ca.pem"
KEY_NAME = "ca-key.pem"
TLS_CERT_NAME = "tls.pem"
TLS_KEY_NAME = "tls-key.pem"
# Below the 398 days browsers and TLS libraries accept for a server certificate.
TLS_LIFETIME = timedelta(days=365)
LIFETIME = timedelta(days=3650)
# Start a little in the past so a leaf backdated by ca.backdate_seconds still nests inside.
BACKDATE = timedelta(hours=1)


def generate_dev_ca(directory: Path) -> tuple[Path, Path]:
    """Return (certificate path, key path) of the development root in `directory`.

    Creates the directory (0700) and an EC P-256 root when absent; an existing pair is returned
    untouched so a restart keeps the CA. Raises CAError when only one of the two files exists.
    """
    directory = Path(directory)
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        os.chmod(directory, 0o700)
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    have_cert, have_key = cert_path.exists(), key_path.exists()
    if have_cert and have_key:
        return cert_path, key_path
    if have_cert or have_key:
        present, missing = (cert_path, key_path) if have_cert else (key_path, cert_path)
        raise CAError(
            f"development CA: {present} exists without {missing}; restore it or remove both"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Key first, cert last: the pair only counts as present once both are in place.
    _write_new(key_path, key_pem, 0o600)
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def issue_dev_tls(directory: Path, names: list[str]) -> tuple[Path, Path]:
    """Return (certificate path, key path) of a TLS server certificate for `names` (DNS names or
    IP addresses), issued by the development root in `directory`.

    An existing pair is returned untouched, like the root. Raises CAError when the root is
    missing, ValueError when `names` is empty.
    """
    if not names:
        raise ValueError("at least one name is needed for a TLS certificate")
    directory = Path(directory)
    cert_path, key_path = directory / TLS_CERT_NAME, directory / TLS_KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    try:
        ca_key = serialization.load_pem_private_key((directory / KEY_NAME).read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate((directory / CERT_NAME).read_bytes())
    except (OSError, ValueError, TypeError):
        raise CAError(f"development CA: no usable root in {directory}") from None
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise CAError(f"development CA: {directory / KEY_NAME} is not an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(start + TLS_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(key_path, key_pem, 0o600)
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"ACMEEH Development Root CA {secrets.token_hex(3)}"
            )
        ]
    )
    start = datetime.now(UTC).replace(microsecond=0) - BACKDATE
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + LIFETIME)
        # pathlen 0: this root signs leaves directly (RFC 5280 §4.2.1.9).
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write via a fresh temporary file created with `mode`, then rename into place.

    The file is created with its final mode (O_EXCL, never world-readable even briefly), so a
    private key is never exposed, and a crash never leaves a half-written file under `path`.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits; set exactly what we mean
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
