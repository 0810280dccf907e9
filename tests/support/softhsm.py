"""A SoftHSM2 token built from scratch for the pkcs11 backend's tests.

SoftHSM2 reads its configuration (SOFTHSM2_CONF) and lists its tokens when the library is
initialised, once per process: so every token is created first, with softhsm2-util, then the
keys are generated in them with python-pkcs11, in this process. One `Hsm` per test process
(a session fixture); the server under test gets the same SOFTHSM2_CONF in its environment.

Each CA key is signed by a test root kept in memory (written out for openssl), as an issuing
CA in an HSM usually is.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from .tools import required_tool

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4321-hsm"
SO_PIN = "8765-so"
# acmeeh-spare holds no key and nothing logs into it but the wrong-PIN test: a PKCS#11 login is
# per process and token, so a PIN is only checked by the first session of a process.
TOKENS = ("acmeeh-rsa", "acmeeh-ec", "acmeeh-spare")


@dataclass(frozen=True)
class HsmCA:
    """An issuing CA whose key is in the token: what ca.* needs, and the root to verify with."""

    token: str
    key_label: str
    key_id: str  # hex
    certificate: Path
    root: Path

    def ca_settings(self, *, certificate: bool = True) -> dict:
        return {
            "backend": "pkcs11",
            "certificate": str(self.certificate) if certificate else None,
            "key": None,
            "chain": str(self.root),
            "pkcs11": {"module": MODULE, "token_label": self.token, "key_label": self.key_label,
                       "pin": "${ACMEEH_TEST_HSM_PIN}"},
        }


@dataclass(frozen=True)
class Hsm:
    conf: Path
    rsa: HsmCA
    ec: HsmCA
    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate

    def environ(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf), "ACMEEH_TEST_HSM_PIN": PIN}

    def library(self) -> pkcs11.lib:
        return pkcs11.lib(MODULE)

    def session(self, token: str) -> pkcs11.Session:
        return self.library().get_token(token_label=token).open(rw=True, user_pin=PIN)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca_certificate(public_key, cn: str, root_key, root_cert) -> x509.Certificate:
    now = datetime.now(UTC)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(root_cert.subject)
        .public_key(public_key).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )


def _root() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    now = datetime.now(UTC)
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("HSM Test Root")).issuer_name(_name("HSM Test Root"))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def create_hsm(directory: Path) -> Hsm:
    """Tokens, keys and CA certificates under `directory`; sets SOFTHSM2_CONF for this process
    (before the library is first loaded here, so it sees the tokens)."""
    util = required_tool("softhsm2-util", "apt-get install softhsm2")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    for label in TOKENS:
        subprocess.run([util, "--init-token", "--free", "--label", label, "--pin", PIN,
                        "--so-pin", SO_PIN], env=env, check=True, capture_output=True, timeout=30)
    os.environ["SOFTHSM2_CONF"] = str(conf)
    root_key, root_cert = _root()
    root_path = directory / "root.pem"
    root_path.write_bytes(_pem(root_cert))
    lib = pkcs11.lib(MODULE)
    lib.reinitialize()  # a library loaded earlier in this process now sees these tokens

    with lib.get_token(token_label="acmeeh-rsa").open(rw=True, user_pin=PIN) as session:
        public, _private = session.generate_keypair(KeyType.RSA, 2048, label="ca-rsa",
                                                    id=b"\x01", store=True)
        rsa_public = rsa.RSAPublicNumbers(
            int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[Attribute.MODULUS], "big")).public_key()
        # Two keys under one label, for the "name it by id" refusal.
        for key_id in (b"\x0a", b"\x0b"):
            session.generate_keypair(KeyType.RSA, 2048, label="twin", id=key_id, store=True)
    rsa_cert = _ca_certificate(rsa_public, "HSM Issuing CA RSA", root_key, root_cert)
    rsa_path = directory / "ca-rsa.pem"
    rsa_path.write_bytes(_pem(rsa_cert))

    with lib.get_token(token_label="acmeeh-ec").open(rw=True, user_pin=PIN) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True)
        public, _private = params.generate_keypair(label="ca-ec", id=b"\x02", store=True)
        ec_public = serialization.load_der_public_key(encode_ec_public_key(public))
        ec_cert = _ca_certificate(ec_public, "HSM Issuing CA EC", root_key, root_cert)
        # The certificate also lives in the token, to be read from there (ca.certificate null).
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: 0,  # X.509
            Attribute.TOKEN: True, Attribute.LABEL: "ca-ec", Attribute.ID: b"\x02",
            Attribute.SUBJECT: ec_cert.subject.public_bytes(),
            Attribute.VALUE: ec_cert.public_bytes(serialization.Encoding.DER),
        })
    ec_path = directory / "ca-ec.pem"
    ec_path.write_bytes(_pem(ec_cert))
    return Hsm(
        conf=conf,
        rsa=HsmCA("acmeeh-rsa", "ca-rsa", "01", rsa_path, root_path),
        ec=HsmCA("acmeeh-ec", "ca-ec", "02", ec_path, root_path),
        root_key=root_key,
        root_cert=root_cert,
    )
