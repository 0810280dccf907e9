"""Backend acme_upstream without the network: its account key file, what it refuses to hand out
(a leaf for another key or other names, a chain that does not link), its plan and its refusal
to sign revocation status. The upstream itself is Pebble, in tests/e2e/test_acme_upstream.py."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from prometheus_client import REGISTRY

from acmeeh.config.load import settings_from_dict
from acmeeh.issuance.backend import CAError, CAUnavailable, LeafProfile
from acmeeh.issuance.backends.acme_upstream import UpstreamCA
from acmeeh.issuance.backends.upstream_account import account_key
from acmeeh.issuance.registry import load_backend
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType

from .pki import make_cert, new_key

NOW = datetime.now(UTC)


ISSUER_KEY = new_key("ec")
ISSUER = make_cert(ISSUER_KEY, "Upstream Issuing CA")


def settings(tmp_path: Path, **upstream: object):
    issuer = tmp_path / "upstream-issuer.pem"
    issuer.write_bytes(ISSUER.public_bytes(serialization.Encoding.PEM))
    doc = {"server": {"external_url": "https://acme.test"},
           "crl": {"enabled": False}, "ocsp": {"enabled": False},
           "ca": {"backend": "acme_upstream", "certificate": str(issuer), "acme_upstream": {
               "directory_url": "https://127.0.0.1:9/dir",
               "account_key": str(tmp_path / "upstream" / "account.pem"), **upstream}}}
    return settings_from_dict(doc, environ={}).ca


def test_the_account_key_is_generated_0600_once(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "account.pem"
    first = account_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert account_key(path).thumbprint() == first.thumbprint()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize(("key", "mode", "message"), [
    (ec.generate_private_key(ec.SECP256R1()), 0o644, "must be 0600 or stricter"),
    (ec.generate_private_key(ec.SECP384R1()), 0o600, "must hold an EC P-256 key"),
    (rsa.generate_private_key(65537, 2048), 0o600, "must hold an EC P-256 key"),
])
def test_an_unfit_account_key_is_refused(tmp_path: Path, key, mode: int, message: str) -> None:
    path = tmp_path / "account.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, mode)
    with pytest.raises(CAError, match=message):
        account_key(path)


def test_load_needs_no_upstream_and_publishes_no_status(tmp_path: Path) -> None:
    backend = load_backend(settings(tmp_path))  # port 9: nothing listens; not called yet
    assert isinstance(backend, UpstreamCA)
    assert backend.health() == {"backend": "acme_upstream", "directory": "https://127.0.0.1:9/dir",
                                "account": None, "last_error": None}
    with pytest.raises(CAError, match="set crl.enabled and ocsp.enabled to false"):
        backend.status_signer("sha256")
    assert backend.issuer_certificate == ISSUER
    plan = backend.plan(LeafProfile(validity_days=7))
    assert plan.not_after - plan.not_before == timedelta(days=7) and plan.serial > 0


def errors(operation: str) -> float:
    return REGISTRY.get_sample_value("acmeeh_upstream_errors_total",
                                     {"operation": operation}) or 0.0


def test_an_unreachable_upstream_is_unavailable_and_counted(tmp_path: Path) -> None:
    backend = load_backend(settings(tmp_path, timeout_seconds=2))
    before = errors("directory")
    with pytest.raises(CAUnavailable, match="the upstream CA is unavailable"):
        backend.check()
    assert errors("directory") == before + 1
    assert str(backend.health()["last_error"]).startswith("directory: ")


def chain_for(public_key, names: list[str], issuer_key=ISSUER_KEY,
              issuer: x509.Certificate = ISSUER) -> tuple[str, x509.Certificate]:
    """A fullchain PEM: a leaf for `public_key` naming `names`, then its issuer."""
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([]))
            .issuer_name(issuer.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(minutes=1)).not_valid_after(NOW + timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=True)
            .sign(issuer_key, hashes.SHA256()))
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, issuer)).decode()
    return pem, issuer


def csr_for(key, name: str) -> x509.CertificateSigningRequest:
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))


def test_only_what_was_asked_for_is_handed_out(tmp_path: Path) -> None:
    backend = load_backend(settings(tmp_path))
    assert isinstance(backend, UpstreamCA)
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    other_issuer_key = new_key("ec")
    names = [Identifier(IdentifierType.DNS, "a.example")]
    good, issuer = chain_for(key.public_key(), ["a.example"])
    issued = backend._checked(good, csr_for(key, "a.example"), names)
    leaf = x509.load_pem_x509_certificates(good.encode())[0]
    assert issued.der == leaf.public_bytes(serialization.Encoding.DER)
    assert backend.issuer_certificate == issuer  # a root here: not in the served chain
    cases = [
        (chain_for(other.public_key(), ["a.example"])[0], "another key than the CSR's"),
        (chain_for(key.public_key(), ["a.example", "b.example"])[0], "other names"),
        (good.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n",
         "no certificate chain"),
        (chain_for(key.public_key(), ["a.example"], other_issuer_key,
                   make_cert(other_issuer_key, "Another CA"))[0], "does not chain"),
    ]
    for fullchain, message in cases:
        with pytest.raises(CAError, match=message):
            backend._checked(fullchain, csr_for(key, "a.example"), names)
