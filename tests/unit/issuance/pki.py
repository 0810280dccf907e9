"""Helpers for the issuance tests: keys, CA certificates, PEM files and a settings stand-in."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class CASettings:
    """Stand-in for settings.ca with the schema's defaults."""

    certificate: str | None = None
    key: str | None = None
    key_password: str | None = None
    chain: str | None = None
    validity_days: int = 90
    backdate_seconds: int = 60
    hash: str = "sha256"
    client_auth: bool = False
    backend: str = "file"
    options: tuple = ()

    def but(self, **changes: object) -> CASettings:
        return replace(self, **changes)


def new_key(kind: str):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(
    key,
    cn: str,
    *,
    issuer_cert: x509.Certificate | None = None,
    issuer_key=None,
    ca: bool | None = True,
    key_cert_sign: bool = True,
    ski: bool = True,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """A certificate for `key`; self-signed unless issuer_cert/issuer_key are given."""
    now = datetime.now(UTC)
    not_before = not_before or now - timedelta(days=1)
    not_after = not_after or now + timedelta(days=3650)
    signer = issuer_key or key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=key_cert_sign,
            crl_sign=key_cert_sign,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
            critical=False,
        )
    digest = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signer, digest)


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key, password: str | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


@dataclass
class PKI:
    """root -> policy (chain) -> issuing intermediate (signs), all written under `dir`."""

    dir: Path
    root_key: object
    root: x509.Certificate
    policy_key: object
    policy: x509.Certificate
    key: object
    cert: x509.Certificate
    root_path: Path
    chain_path: Path
    cert_path: Path
    key_path: Path

    def settings(self, **changes: object) -> CASettings:
        return CASettings(
            certificate=str(self.cert_path), key=str(self.key_path), chain=str(self.chain_path)
        ).but(**changes)

    def reissued(self, name: str, **options: Any) -> x509.Certificate:
        """Another certificate for the issuing key, signed by the policy CA, shaped by
        make_cert's `options` (validity, CA flags)."""
        return make_cert(self.key, name, issuer_cert=self.policy, issuer_key=self.policy_key,
                         **options)


def build_pki(directory: Path, issuer_kind: str, keys: dict) -> PKI:
    directory.mkdir(parents=True, exist_ok=True)
    root_key, policy_key = new_key("ec384"), new_key("ec")
    root = make_cert(root_key, "Test Root")
    policy = make_cert(policy_key, "Test Policy CA", issuer_cert=root, issuer_key=root_key)
    key = keys[issuer_kind]
    cert = make_cert(
        key, f"Test Issuing CA {issuer_kind}", issuer_cert=policy, issuer_key=policy_key
    )
    return PKI(
        dir=directory,
        root_key=root_key,
        root=root,
        policy_key=policy_key,
        policy=policy,
        key=key,
        cert=cert,
        root_path=write(directory / "root.pem", cert_pem(root)),
        chain_path=write(directory / "chain.pem", cert_pem(policy)),
        cert_path=write(directory / "issuer.pem", cert_pem(cert)),
        key_path=write(directory / "issuer-key.pem", key_pem(key), 0o600),
    )
