"""Leaves chain up to the root as OpenSSL sees it (openssl verify, a real independent verifier)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from support.tools import required_tool

from acmeeh.issuance.backend import LeafProfile
from acmeeh.issuance.registry import load_backend
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType

from .pki import PKI, cert_pem


def _csr(key) -> x509.CertificateSigningRequest:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ossl.example")]))
        .sign(key, hashes.SHA256())
    )


def openssl_verify(
    root: Path, untrusted: Path, leaf: Path, *extra: str, purpose: str = "sslserver"
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            required_tool("openssl", "apt-get install openssl"),
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            *extra,
            "-CAfile",
            str(root),
            "-untrusted",
            str(untrusted),
            str(leaf),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("issuer_kind", ["rsa", "ec", "ed25519"])
@pytest.mark.parametrize("leaf_kind", ["rsa", "ec"])
def test_openssl_accepts_the_chain(pki_factory, keys, tmp_path, issuer_kind, leaf_kind) -> None:
    p: PKI = pki_factory(issuer_kind)
    backend = load_backend(
        p.settings(), crl_url="http://127.0.0.1/crl", ocsp_url="http://127.0.0.1/ocsp"
    )
    idents = [
        Identifier(IdentifierType.DNS, "ossl.example"),
        Identifier(IdentifierType.IP, "127.0.0.1"),
    ]
    issued = backend.sign(_csr(keys[leaf_kind]), idents, profile=LeafProfile())
    pems = issued.pem_chain.split("-----END CERTIFICATE-----\n")
    leaf_path = tmp_path / "leaf.pem"
    leaf_path.write_text(pems[0] + "-----END CERTIFICATE-----\n")
    untrusted = tmp_path / "untrusted.pem"
    untrusted.write_text(backend.chain_pem)  # issuing CA + policy CA, as served after the leaf
    result = openssl_verify(p.root_path, untrusted, leaf_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{leaf_path}: OK" in result.stdout
    # And the name checks OpenSSL applies to TLS servers.
    for flag in (["-verify_hostname", "ossl.example"], ["-verify_ip", "127.0.0.1"]):
        assert openssl_verify(p.root_path, untrusted, leaf_path, *flag).returncode == 0
    bad = openssl_verify(p.root_path, untrusted, leaf_path, "-verify_hostname", "other.example")
    assert bad.returncode != 0


def test_openssl_refuses_without_the_intermediates(pki: PKI, keys, tmp_path) -> None:
    backend = load_backend(pki.settings())
    issued = backend.sign(
        _csr(keys["ec"]), [Identifier(IdentifierType.DNS, "ossl.example")], profile=LeafProfile()
    )
    leaf_path = tmp_path / "leaf.pem"
    leaf_path.write_text(
        issued.pem_chain.split("-----END CERTIFICATE-----\n")[0] + "-----END CERTIFICATE-----\n"
    )
    only_policy = tmp_path / "policy.pem"
    only_policy.write_bytes(cert_pem(pki.policy))
    result = openssl_verify(pki.root_path, only_policy, leaf_path)
    assert result.returncode != 0


TLSCLIENT = LeafProfile(name="tlsclient", key_usage=("digital_signature",),
                        extended_key_usage=("client_auth",))


@pytest.mark.parametrize(
    ("profile", "purpose", "ok"),
    [
        (LeafProfile(), "sslserver", True),
        (LeafProfile(), "sslclient", False),
        (TLSCLIENT, "sslclient", True),
        (TLSCLIENT, "sslserver", False),
        (LeafProfile(common_name=False), "sslserver", True),
    ],
    ids=["server-as-server", "server-as-client", "client-as-client", "client-as-server",
         "no-cn-as-server"],
)
def test_openssl_checks_each_profile_for_its_purpose(
    pki: PKI, keys, tmp_path, profile: LeafProfile, purpose: str, ok: bool
) -> None:
    """The extended key usage a profile sets is what OpenSSL's purpose check sees."""
    backend = load_backend(pki.settings())
    idents = [Identifier(IdentifierType.DNS, "purpose.example")]
    issued = backend.sign(_csr(keys["rsa"]), idents, profile=profile)
    leaf_path = tmp_path / "leaf.pem"
    leaf_path.write_text(issued.pem_chain.split("-----END CERTIFICATE-----\n")[0]
                         + "-----END CERTIFICATE-----\n")
    untrusted = tmp_path / "untrusted.pem"
    untrusted.write_text(backend.chain_pem)
    result = openssl_verify(pki.root_path, untrusted, leaf_path, purpose=purpose)
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
