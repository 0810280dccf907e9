"""generate_dev_ca: a root and an issuing intermediate, private files, idempotence."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from acmeeh.issuance.backend import CAError, test_sign
from acmeeh.issuance.registry import load_backend
from acmeeh.issuance.devca import DevCA, generate_dev_ca

from .pki import CASettings

FILES = ["intermediate-key.pem", "intermediate.pem", "root-key.pem", "root.pem"]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def extension(cert: x509.Certificate, kind: type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(kind)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_generates_a_private_root_and_intermediate(tmp_path: Path, umask: int) -> None:
    directory = tmp_path / "state" / "dev-ca"
    old = os.umask(umask)
    try:
        ca = generate_dev_ca(directory)
    finally:
        os.umask(old)
    assert ca == DevCA(root=directory / "root.pem", certificate=directory / "intermediate.pem",
                       key=directory / "intermediate-key.pem")
    assert mode_of(directory) == 0o700
    assert mode_of(ca.key) == mode_of(directory / "root-key.pem") == 0o600
    assert mode_of(ca.certificate) == mode_of(ca.root) == 0o644
    assert sorted(p.name for p in directory.iterdir()) == FILES  # no temp file left

    root, issuing = load(ca.root), load(ca.certificate)
    key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert issuing.public_key() == key.public_key()
    for cert, role in ((root, "Root"), (issuing, "Issuing")):
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert cn.startswith(f"ACMEEH Development {role} CA ")
        assert len(cn.rsplit(" ", 1)[1]) == 6
        ku = extension(cert, x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert cert.not_valid_before_utc <= datetime.now(UTC)
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    # RFC 5280 §4.2.1.9: the root admits the one intermediate below it, which admits none.
    assert extension(root, x509.BasicConstraints).value.path_length == 1
    assert extension(issuing, x509.BasicConstraints).value.path_length == 0
    aki = extension(issuing, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == extension(root, x509.SubjectKeyIdentifier).value.digest
    assert issuing.not_valid_after_utc <= root.not_valid_after_utc
    assert timedelta(days=3649) < root.not_valid_after_utc - root.not_valid_before_utc


def test_is_idempotent(tmp_path: Path) -> None:
    first = generate_dev_ca(tmp_path / "ca")
    files = sorted((tmp_path / "ca").iterdir())
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    assert generate_dev_ca(tmp_path / "ca") == first
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before


def test_existing_directory_is_kept(tmp_path: Path) -> None:
    directory = tmp_path / "existing"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    generate_dev_ca(directory)
    assert mode_of(directory) == 0o755  # not ours to change


@pytest.mark.parametrize("leftover", FILES)
def test_half_a_pair_is_refused(tmp_path: Path, leftover: str) -> None:
    generate_dev_ca(tmp_path / "ca")
    kept = tmp_path / "ca" / leftover
    partner = {"root.pem": "root-key.pem", "intermediate.pem": "intermediate-key.pem"}
    partner |= {v: k for k, v in partner.items()}
    (tmp_path / "ca" / partner[leftover]).unlink()
    data = kept.read_bytes()
    with pytest.raises(CAError, match="remove both") as caught:
        generate_dev_ca(tmp_path / "ca")
    assert str(kept) in str(caught.value)
    assert kept.read_bytes() == data


def test_a_lost_intermediate_is_signed_again_by_the_kept_root(tmp_path: Path) -> None:
    ca = generate_dev_ca(tmp_path / "ca")
    root = ca.root.read_bytes()
    old = load(ca.certificate)
    ca.certificate.unlink()
    ca.key.unlink()
    assert generate_dev_ca(tmp_path / "ca") == ca
    assert ca.root.read_bytes() == root
    renewed = load(ca.certificate)
    assert renewed.public_key() != old.public_key()
    renewed.verify_directly_issued_by(load(ca.root))


def test_an_intermediate_without_its_root_is_refused(tmp_path: Path) -> None:
    ca = generate_dev_ca(tmp_path / "ca")
    ca.root.unlink()
    (tmp_path / "ca" / "root-key.pem").unlink()
    with pytest.raises(CAError, match="without"):
        generate_dev_ca(tmp_path / "ca")


def test_dev_ca_loads_and_signs_without_sending_its_root(tmp_path: Path) -> None:
    ca = generate_dev_ca(tmp_path / "ca")
    backend = load_backend(CASettings(**ca.ca_settings()))
    backend.check()
    issued = test_sign(backend)
    leaf = x509.load_der_x509_certificate(issued.der)
    leaf.verify_directly_issued_by(backend.issuer_certificate)
    assert issued.not_before >= backend.issuer_certificate.not_valid_before_utc
    # RFC 8555 §7.4.2: leaf then intermediate; the trust anchor stays with the client.
    assert x509.load_pem_x509_certificates(issued.pem_chain.encode()) == [leaf, load(ca.certificate)]


def test_two_dev_cas_differ(tmp_path: Path) -> None:
    a, b = (load(generate_dev_ca(tmp_path / name).root) for name in "ab")
    assert a.subject != b.subject and a.public_key() != b.public_key()
