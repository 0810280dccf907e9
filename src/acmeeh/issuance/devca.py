"""generate_dev_ca: a throwaway root and issuing intermediate for development mode and tests.

Leaves are signed by the intermediate, as a production CA signs them, so downloads carry a real
chain (leaf + intermediate; RFC 8555 §7.4.2) and clients that refuse a one-certificate chain
(certbot) work. The root is what a developer trusts. Both are kept across restarts.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acmeeh.issuance.keyfiles import CAError, write_atomic

ROOT_NAME, ROOT_KEY_NAME = "root.pem", "root-key.pem"
CERT_NAME, KEY_NAME = "intermediate.pem", "intermediate-key.pem"
ROOT_LIFETIME = timedelta(days=3650)
INTERMEDIATE_LIFETIME = timedelta(days=3640)  # nests inside the root's validity
# Start a little in the past so a leaf backdated by ca.backdate_seconds still nests inside.
BACKDATE = timedelta(hours=1)


@dataclass(frozen=True)
class DevCA:
    """Paths of a development CA."""

    root: Path  # the trust anchor a client installs
    certificate: Path  # the issuing intermediate: ca.certificate
    key: Path  # its private key, mode 0600: ca.key

    def ca_settings(self) -> dict[str, str]:
        """The `ca` configuration section that signs with this CA (ca.chain names the root,
        so the loader checks the link; downloads leave the root out)."""
        return {"certificate": str(self.certificate), "key": str(self.key),
                "chain": str(self.root)}


def generate_dev_ca(directory: Path) -> DevCA:
    """Return the development CA in `directory`, creating what is missing.

    Creates the directory (0700), an EC P-256 root and an intermediate it signs; existing files
    are returned untouched so a restart keeps the CA (an intermediate lost in a crash is signed
    again by the kept root). Raises CAError when a certificate or key is present without its
    partner, or an intermediate without its root.
    """
    directory = Path(directory)
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        os.chmod(directory, 0o700)
    ca = DevCA(root=directory / ROOT_NAME, certificate=directory / CERT_NAME,
               key=directory / KEY_NAME)
    root_key_path = directory / ROOT_KEY_NAME
    have_root = _pair_present(ca.root, root_key_path)
    have_intermediate = _pair_present(ca.certificate, ca.key)
    if have_root and have_intermediate:
        return ca
    if have_intermediate:
        raise CAError(f"development CA: {ca.certificate} exists without {ca.root}; "
                      "restore it or remove both")
    if have_root:
        root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), password=None)
        root = x509.load_pem_x509_certificate(ca.root.read_bytes())
        if not isinstance(root_key, ec.EllipticCurvePrivateKey):
            raise CAError(f"development CA: {root_key_path} is not an EC key")
    else:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = _certificate(root_key, _name("Root"), None, path_length=1,
                            lifetime=ROOT_LIFETIME)
        # Key first, certificate last: a pair only counts as present once both are in place.
        write_atomic(root_key_path, _key_pem(root_key), 0o600)
        write_atomic(ca.root, root.public_bytes(serialization.Encoding.PEM), 0o644)
    key = ec.generate_private_key(ec.SECP256R1())
    intermediate = _certificate(key, _name("Issuing"), (root, root_key), path_length=0,
                                lifetime=INTERMEDIATE_LIFETIME)
    write_atomic(ca.key, _key_pem(key), 0o600)
    write_atomic(ca.certificate, intermediate.public_bytes(serialization.Encoding.PEM), 0o644)
    return ca


def _pair_present(cert_path: Path, key_path: Path) -> bool:
    have_cert, have_key = cert_path.exists(), key_path.exists()
    if have_cert != have_key:
        present, missing = (cert_path, key_path) if have_cert else (key_path, cert_path)
        raise CAError(
            f"development CA: {present} exists without {missing}; restore it or remove both"
        )
    return have_cert


def _name(role: str) -> x509.Name:
    label = f"ACMEEH Development {role} CA {secrets.token_hex(3)}"
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    path_length: int,
    lifetime: timedelta,
) -> x509.Certificate:
    """A CA certificate for `key`: self-signed when `issuer` is None, else signed by it."""
    start = datetime.now(UTC).replace(microsecond=0) - BACKDATE
    signer_key = key if issuer is None else issuer[1]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
        # RFC 5280 §4.2.1.9: the root admits one intermediate, the intermediate none.
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    if issuer is not None:  # RFC 5280 §4.2.1.1: every certificate but a root names its issuer key
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    return builder.sign(signer_key, hashes.SHA256())
