"""load_backend: every way a CA configuration can be wrong, and the ones that are right."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa

from acmeeh.issuance.backend import CABackend, CAError
from acmeeh.issuance.registry import load_backend

from .pki import PKI, cert_pem, key_pem, make_cert, new_key, write

PASSWORD = "correct horse battery staple"


def _missing_cert(p: PKI):
    return p.settings(certificate=None), ["ca.certificate and ca.key are required"]


def _missing_key(p: PKI):
    return p.settings(key=""), ["ca.certificate and ca.key are required"]


def _absent_cert_file(p: PKI):
    path = p.dir / "nope.pem"
    return p.settings(certificate=str(path)), ["ca.certificate:", str(path), "does not exist"]


def _absent_key_file(p: PKI):
    path = p.dir / "nope-key.pem"
    return p.settings(key=str(path)), ["ca.key:", str(path), "does not exist"]


def _key_is_directory(p: PKI):
    return p.settings(key=str(p.dir)), ["ca.key:", str(p.dir), "not a regular file"]


def _absent_chain_file(p: PKI):
    path = p.dir / "chain-gone.pem"
    return p.settings(chain=str(path)), ["ca.chain:", str(path), "does not exist"]


def _mode(mode: int):
    def case(p: PKI):
        os.chmod(p.key_path, mode)
        return p.settings(), [f"ca.key: {p.key_path} has mode {mode:04o}; must be 0600 or stricter"]

    case.__name__ = f"_mode_{mode:04o}"
    return case


def _mismatched_key(p: PKI):
    other = write(p.dir / "other-key.pem", key_pem(new_key("ec")), 0o600)
    return p.settings(key=str(other)), ["ca.key:", str(other), "does not match", str(p.cert_path)]


def _key_of_other_type(p: PKI):
    other = write(p.dir / "rsa-key.pem", key_pem(new_key("rsa")), 0o600)
    return p.settings(key=str(other)), ["ca.key:", str(other), "does not match"]


def _not_a_ca(p: PKI):
    leaf = p.reissued("not a ca", ca=False)
    path = write(p.dir / "leaf.pem", cert_pem(leaf))
    return p.settings(certificate=str(path)), ["ca.certificate:", str(path), "not a CA"]


def _no_basic_constraints(p: PKI):
    cert = p.reissued("no bc", ca=None)
    path = write(p.dir / "nobc.pem", cert_pem(cert))
    return p.settings(certificate=str(path)), [str(path), "basicConstraints"]


def _no_key_cert_sign(p: PKI):
    cert = p.reissued("no kcs", key_cert_sign=False)
    path = write(p.dir / "nokcs.pem", cert_pem(cert))
    return p.settings(certificate=str(path)), [str(path), "keyCertSign"]


def _expired(p: PKI):
    now = datetime.now(UTC)
    cert = p.reissued(
        "old",
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    path = write(p.dir / "old.pem", cert_pem(cert))
    return p.settings(certificate=str(path)), ["ca.certificate:", str(path), "expired"]


def _not_yet_valid(p: PKI):
    now = datetime.now(UTC)
    cert = p.reissued(
        "future",
        not_before=now + timedelta(days=1),
        not_after=now + timedelta(days=30),
    )
    path = write(p.dir / "future.pem", cert_pem(cert))
    return p.settings(certificate=str(path)), [str(path), "not valid before"]


def _encrypted_without_password(p: PKI):
    write(p.key_path, key_pem(p.key, PASSWORD), 0o600)
    return p.settings(), ["ca.key:", str(p.key_path), "encrypted; set ca.key_password"]


def _encrypted_wrong_password(p: PKI):
    write(p.key_path, key_pem(p.key, PASSWORD), 0o600)
    return p.settings(key_password="wrong"), [str(p.key_path), "cannot be decrypted"]


def _password_for_plain_key(p: PKI):
    return p.settings(key_password=PASSWORD), [str(p.key_path), "not encrypted"]


def _garbage_key(p: PKI):
    write(p.key_path, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0o600)
    return p.settings(), [str(p.key_path), "not a readable PEM private key"]


def _dsa_key(p: PKI):
    write(p.key_path, key_pem(dsa.generate_private_key(key_size=2048)), 0o600)
    return p.settings(), [str(p.key_path), "unsupported key type"]


def _garbage_cert(p: PKI):
    write(p.cert_path, b"not a certificate\n")
    return p.settings(), ["ca.certificate:", str(p.cert_path), "no valid PEM certificate"]


def _two_certs_in_certificate(p: PKI):
    write(p.cert_path, cert_pem(p.cert, p.policy))
    return p.settings(), [str(p.cert_path), "2 certificates", "ca.chain"]


def _chain_does_not_link(p: PKI):
    stranger = make_cert(new_key("ec"), "Stranger CA")
    path = write(p.dir / "bad-chain.pem", cert_pem(stranger))
    return p.settings(chain=str(path)), ["ca.chain:", str(path), "did not issue ca.certificate"]


def _chain_wrong_order(p: PKI):
    # Root first, then the policy CA: the root did not issue the signing certificate.
    path = write(p.dir / "reversed.pem", cert_pem(p.root, p.policy))
    return p.settings(chain=str(path)), ["ca.chain:", str(path), "did not issue"]


BAD = [
    _missing_cert,
    _missing_key,
    _absent_cert_file,
    _absent_key_file,
    _key_is_directory,
    _absent_chain_file,
    _mode(0o644),
    _mode(0o640),
    _mode(0o604),
    _mode(0o660),
    _mode(0o620),
    _mode(0o601),
    _mismatched_key,
    _key_of_other_type,
    _not_a_ca,
    _no_basic_constraints,
    _no_key_cert_sign,
    _expired,
    _not_yet_valid,
    _encrypted_without_password,
    _encrypted_wrong_password,
    _password_for_plain_key,
    _garbage_key,
    _dsa_key,
    _garbage_cert,
    _two_certs_in_certificate,
    _chain_does_not_link,
    _chain_wrong_order,
]


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.__name__.strip("_"))
def test_bad_configuration_is_refused_with_a_named_file(pki: PKI, case) -> None:
    settings, fragments = case(pki)
    with pytest.raises(CAError) as caught:
        load_backend(settings)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    # Never leak key material or the password.
    assert "PRIVATE KEY" not in message and PASSWORD not in message
    # Raised `from None`: no chained library exception carries file or key bytes into logs.
    assert caught.value.__cause__ is None


def _as_is(p: PKI):
    return p.settings()


def _key_0400(p: PKI):
    os.chmod(p.key_path, 0o400)
    return p.settings()


def _encrypted_with_password(p: PKI):
    write(p.key_path, key_pem(p.key, PASSWORD), 0o600)
    return p.settings(key_password=PASSWORD)


def _no_chain(p: PKI):
    return p.settings(chain=None)


def _path_objects(p: PKI):
    return p.settings(certificate=p.cert_path, key=p.key_path, chain=p.chain_path)


GOOD = [_as_is, _key_0400, _encrypted_with_password, _no_chain, _path_objects]


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.__name__.strip("_"))
def test_good_configuration_loads(pki: PKI, case) -> None:
    backend = load_backend(case(pki))
    assert isinstance(backend, CABackend)
    assert backend.issuer_certificate == pki.cert
    backend.check()
    assert "PRIVATE" not in repr(backend)


@pytest.mark.parametrize("kind", ["rsa", "ec", "ec384", "ed25519"])
def test_every_issuer_key_type_loads(pki_factory, kind: str) -> None:
    p = pki_factory(kind)
    backend = load_backend(p.settings())
    backend.check()


def test_chain_pem_is_issuer_then_chain(pki: PKI) -> None:
    backend = load_backend(pki.settings())
    assert backend.chain_pem == (cert_pem(pki.cert) + cert_pem(pki.policy)).decode()
    assert load_backend(pki.settings(chain=None)).chain_pem == cert_pem(pki.cert).decode()


def test_check_fails_once_the_issuer_expires(pki: PKI) -> None:
    moments = iter([datetime.now(UTC), datetime.now(UTC), pki.cert.not_valid_after_utc])
    backend = load_backend(pki.settings(), clock=lambda: next(moments))
    with pytest.raises(CAError, match="expired"):
        backend.check()


def test_relative_paths_are_read_from_the_working_directory(pki: PKI, monkeypatch) -> None:
    monkeypatch.chdir(pki.dir)
    settings = pki.settings(
        certificate=Path(pki.cert_path.name).as_posix(), key=pki.key_path.name, chain=None
    )
    assert load_backend(settings).issuer_certificate == pki.cert
