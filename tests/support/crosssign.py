"""A cross-signed intermediate for alternate-chain tests (RFC 8555 §7.4.2): the development
CA's issuing certificate signed again by a second, independent root."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from acmeeh.issuance import DevCA

CROSS_ROOT_CN = "ACMEEH Test Cross Root"


@dataclass(frozen=True)
class CrossSigned:
    root: Path  # the second root: the trust anchor of the alternate chain
    cross: x509.Certificate  # the issuing CA's subject and key, issued by `root`
    chain: Path  # ca.alternate_chains entry: the cross-signed certificate, then the root


def _ca_extensions(builder: x509.CertificateBuilder, public_key, issuer_key) -> x509.CertificateBuilder:
    return (builder
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False))


def cross_sign(ca: DevCA, directory: Path) -> CrossSigned:
    """Write a new root and the issuing CA cross-signed by it under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    issuing = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CROSS_ROOT_CN)])
    root = _ca_extensions(
        x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650)),
        root_key.public_key(), root_key).sign(root_key, hashes.SHA256())
    cross = _ca_extensions(
        x509.CertificateBuilder().subject_name(issuing.subject).issuer_name(root_name)
        .public_key(issuing.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1800)),
        issuing.public_key(), root_key).sign(root_key, hashes.SHA256())
    root_path, chain_path = directory / "cross-root.pem", directory / "alternate-chain.pem"
    root_path.write_bytes(root.public_bytes(Encoding.PEM))
    chain_path.write_bytes(cross.public_bytes(Encoding.PEM) + root.public_bytes(Encoding.PEM))
    return CrossSigned(root=root_path, cross=cross, chain=chain_path)
