"""issuance.lint: pkilint's findings on leaves this CA signs, and on a leaf it never would."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from acmeeh.issuance.backend import CAError, LeafProfile, test_sign
from acmeeh.issuance.registry import load_backend
from acmeeh.issuance.lint import Finding, Linter, refusing

from .pki import PKI

CRL = "http://ca.example.com/crl"
OCSP = "http://ca.example.com/ocsp"


def our_leaf(pki: PKI, crl: str = CRL, ocsp: str = OCSP) -> bytes:
    return test_sign(load_backend(pki.settings(), crl_url=crl, ocsp_url=ocsp)).der


def leaf_without_names(pki: PKI) -> bytes:
    """Empty subject and no subjectAltName: RFC 5280 §4.1.2.6 needs one of them."""
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(pki.cert.subject)
            .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(pki.key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_leaf_this_ca_signs_has_no_refusing_finding(pki_factory, kind: str) -> None:
    findings = Linter("pkix").findings(our_leaf(pki_factory(kind)))
    assert refusing(findings) == [], [str(f) for f in findings]


@pytest.mark.parametrize("profile", [
    LeafProfile(name="tlsclient", key_usage=("digital_signature",),
                extended_key_usage=("client_auth",)),
    LeafProfile(name="shortlived", validity_days=7),
    LeafProfile(name="bare", common_name=False),
], ids=lambda p: p.name)
def test_each_profile_shape_has_no_refusing_finding(pki: PKI, profile: LeafProfile) -> None:
    backend = load_backend(pki.settings(), crl_url=CRL, ocsp_url=OCSP)
    findings = Linter("pkix").findings(test_sign(backend, profile).der)
    assert refusing(findings) == [], [str(f) for f in findings]


def test_a_leaf_without_any_name_is_refused(pki: PKI) -> None:
    refused = refusing(Linter("pkix").findings(leaf_without_names(pki)))
    assert refused and all(f.severity in ("ERROR", "FATAL") for f in refused)
    assert all(f.code.startswith("pkix.") and f.path.startswith("certificate") for f in refused)


def test_a_single_label_status_url_is_a_pkix_error_until_ignored(pki: PKI) -> None:
    der = our_leaf(pki, crl="http://localhost:8443/crl", ocsp="http://localhost:8443/ocsp")
    codes = {f.code for f in refusing(Linter("pkix").findings(der))}
    assert codes == {"pkix.invalid_uri_syntax"}
    assert refusing(Linter("pkix", ignore=["pkix.invalid_uri_syntax"]).findings(der)) == []


def test_cabf_serverauth_holds_internal_names_and_missing_policies_against_a_leaf(pki: PKI) -> None:
    codes = {f.code for f in refusing(Linter("cabf_serverauth").findings(our_leaf(pki)))}
    # test_sign names test-sign.invalid (RFC 2606), which is no public domain
    assert "cabf.internal_domain_name" in codes
    assert "cabf.serverauth.subscriber.certificate_policies_extension_absent" in codes


def test_a_linter_is_reused_across_threads(pki: PKI) -> None:
    linter, der = Linter("pkix"), leaf_without_names(pki)
    expected = linter.findings(der)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: linter.findings(der), range(8)))
    assert all(r == expected for r in results)


def test_an_unknown_linter_is_a_ca_error() -> None:
    with pytest.raises(CAError, match="lint.linter: unknown linter 'zlint'"):
        Linter("zlint")


def test_a_finding_reads_as_one_line() -> None:
    finding = Finding("ERROR", "pkix.x", "bad", "certificate.tbsCertificate")
    assert str(finding) == "ERROR pkix.x at certificate.tbsCertificate: bad"
    assert str(Finding("FATAL", "pkix.y", "", "certificate")) == "FATAL pkix.y at certificate"


def test_without_pkilint_asking_for_a_linter_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "acmeeh.issuance.pkilint_rules", None)  # import fails
    with pytest.raises(CAError, match=r"pip install 'acmeeh\[lint\]'"):
        Linter("pkix")
