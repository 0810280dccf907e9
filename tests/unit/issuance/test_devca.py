"""generate_dev_ca: a usable root, private files, and idempotence across restarts."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from acmeeh.issuance.backend import CAError, load_backend, test_sign
from acmeeh.issuance.devca import generate_dev_ca

from .pki import CASettings


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_generates_a_private_root(tmp_path: Path, umask: int) -> None:
    directory = tmp_path / "state" / "dev-ca"
    old = os.umask(umask)
    try:
        cert_path, key_path = generate_dev_ca(directory)
    finally:
        os.umask(old)
    assert (cert_path, key_path) == (directory / "ca.pem", directory / "ca-key.pem")
    assert mode_of(directory) == 0o700
    assert mode_of(key_path) == 0o600
    assert mode_of(cert_path) == 0o644
    assert sorted(p.name for p in directory.iterdir()) == ["ca-key.pem", "ca.pem"]  # no temp left

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert cert.public_key() == key.public_key()
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert cn.startswith("ACMEEH Development Root CA ")
    suffix = cn.rsplit(" ", 1)[1]
    assert len(suffix) == 6 and int(suffix, 16) >= 0
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)

    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert not ku.value.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=3649) < lifetime <= timedelta(days=3651)
    assert cert.not_valid_before_utc <= datetime.now(UTC)


def test_is_idempotent(tmp_path: Path) -> None:
    first = generate_dev_ca(tmp_path / "ca")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first}
    second = generate_dev_ca(tmp_path / "ca")
    assert second == first
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in second} == before


def test_existing_directory_is_kept(tmp_path: Path) -> None:
    directory = tmp_path / "existing"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    generate_dev_ca(directory)
    assert mode_of(directory) == 0o755  # not ours to change


@pytest.mark.parametrize("leftover", ["ca.pem", "ca-key.pem"])
def test_half_a_pair_is_refused(tmp_path: Path, leftover: str) -> None:
    cert_path, key_path = generate_dev_ca(tmp_path / "ca")
    kept = tmp_path / "ca" / leftover
    (key_path if kept == cert_path else cert_path).unlink()
    data = kept.read_bytes()
    with pytest.raises(CAError, match="remove both") as caught:
        generate_dev_ca(tmp_path / "ca")
    assert str(kept) in str(caught.value)
    assert kept.read_bytes() == data


def test_dev_ca_loads_and_signs(tmp_path: Path) -> None:
    cert_path, key_path = generate_dev_ca(tmp_path / "ca")
    backend = load_backend(CASettings(certificate=str(cert_path), key=str(key_path)))
    backend.check()
    issued = test_sign(backend)
    leaf = x509.load_der_x509_certificate(issued.der)
    leaf.verify_directly_issued_by(backend.issuer_certificate)
    assert issued.not_before >= backend.issuer_certificate.not_valid_before_utc
    assert issued.pem_chain.endswith(cert_path.read_text())


def test_two_dev_cas_differ(tmp_path: Path) -> None:
    a = x509.load_pem_x509_certificate(generate_dev_ca(tmp_path / "a")[0].read_bytes())
    b = x509.load_pem_x509_certificate(generate_dev_ca(tmp_path / "b")[0].read_bytes())
    assert a.subject != b.subject and a.public_key() != b.public_key()


def test_ca_init_command_makes_a_demo_root_and_proxy_certificate(tmp_path: Path) -> None:
    """`python -m acmeeh ca init DIR --tls-name ...` needs no -c, and a second run keeps all."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    directory = tmp_path / "ca"
    argv = [sys.executable, "-m", "acmeeh", "ca", "init", str(directory),
            "--tls-name", "localhost", "--tls-name", "127.0.0.1"]
    env = {"PYTHONPATH": str(root / "src"), "PATH": os.environ.get("PATH", "/usr/bin")}
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert first.returncode == 0, first.stderr
    files = {p.name: p.read_bytes() for p in directory.iterdir()}
    assert sorted(files) == ["ca-key.pem", "ca.pem", "tls-key.pem", "tls.pem"]
    assert mode_of(directory / "tls-key.pem") == 0o600
    ca = x509.load_pem_x509_certificate(files["ca.pem"])
    leaf = x509.load_pem_x509_certificate(files["tls.pem"])
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=398)
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == files


def test_dev_tls_needs_the_root(tmp_path: Path) -> None:
    from acmeeh.issuance.devca import issue_dev_tls

    with pytest.raises(CAError, match="no usable root"):
        issue_dev_tls(tmp_path, ["localhost"])
    with pytest.raises(ValueError):
        issue_dev_tls(tmp_path, [])
