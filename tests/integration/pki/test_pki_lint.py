"""pkilint (RFC 5280 / RFC 6960 linters) finds no ERROR or FATAL in what the server hands out:
a leaf, the delegated OCSP responder certificate, the CRL (empty and with entries) and OCSP
responses. A deliberately broken CRL proves the linter is listening."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from support.acme_client import expect

from acmeeh.issuance.keyfiles import read_private_key

from .conftest import wait_for

BIN = Path(sys.executable).parent
BAD_SEVERITIES = {"ERROR", "FATAL"}
TIMEOUT = 15


def lint(tool: str, *args: str) -> list[dict]:
    """Run a pkilint tool with JSON output; its findings of every severity from WARNING up."""
    done = subprocess.run([str(BIN / tool), "lint", "-s", "WARNING", "-f", "JSON", *args],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip(), done.stderr
    results = json.loads(done.stdout)["results"]
    return [f | {"node": r["node_path"]} for r in results for f in r["finding_descriptions"]]


def errors(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["severity"] in BAD_SEVERITIES]


@pytest.fixture(scope="module")
def artifacts(pki_server, issue, tmp_path_factory) -> dict[str, Path]:
    """leaf, responder certificate, CRLs and OCSP responses, written as DER files."""
    folder = tmp_path_factory.mktemp("lint")
    out: dict[str, Path] = {}

    def put(label: str, data: bytes) -> None:
        out[label] = folder / f"{label}.der"
        out[label].write_bytes(data)

    put("empty-crl", requests.get(f"{pki_server.base_url}/crl", timeout=TIMEOUT).content)
    good, revoked = issue(), issue()
    put("leaf", good.der)
    ca = x509.load_pem_x509_certificate(pki_server.ca_cert_path.read_bytes())
    for label, leaf in (("ocsp-good", good), ("ocsp-revoked", revoked)):
        if label == "ocsp-revoked":
            expect(revoked.client.revoke(revoked.der, reason=1), 200)
        request = ocsp.OCSPRequestBuilder().add_certificate(leaf.cert, ca, hashes.SHA1()).add_extension(
            x509.OCSPNonce(b"lint-nonce-0001"), critical=False).build()
        want = ocsp.OCSPCertStatus.REVOKED if label == "ocsp-revoked" else ocsp.OCSPCertStatus.GOOD

        def answer(request=request, want=want) -> bytes | None:
            got = requests.post(f"{pki_server.base_url}/ocsp",
                                data=request.public_bytes(serialization.Encoding.DER),
                                headers={"Content-Type": "application/ocsp-request"},
                                timeout=TIMEOUT).content
            return got if ocsp.load_der_ocsp_response(got).certificate_status == want else None

        put(label, wait_for(answer, timeout=10, interval=0.05))  # revocations reach OCSP in ms
    responder = ocsp.load_der_ocsp_response(out["ocsp-good"].read_bytes()).certificates[0]
    put("responder", responder.public_bytes(serialization.Encoding.DER))

    def listed() -> bytes | None:
        der = requests.get(f"{pki_server.base_url}/crl", timeout=TIMEOUT).content
        crl = x509.load_der_x509_crl(der)
        return der if crl.get_revoked_certificate_by_serial_number(revoked.cert.serial_number) else None

    put("crl", wait_for(listed, timeout=15))
    return out


@pytest.mark.parametrize("label", ["leaf", "responder"])
def test_certificates_lint_clean(artifacts: dict[str, Path], pki_server, label: str) -> None:
    assert errors(lint("lint_pkix_cert", str(artifacts[label]))) == []
    chain = lint("lint_pkix_signer_signee_cert_chain", str(pki_server.ca_cert_path), str(artifacts[label]))
    assert errors(chain) == []


@pytest.mark.parametrize("label", ["empty-crl", "crl"])
@pytest.mark.parametrize("profile", ["PKIX", "BR"])
def test_crls_lint_clean(artifacts: dict[str, Path], label: str, profile: str) -> None:
    assert errors(lint("lint_crl", "-t", "CRL", "-p", profile, str(artifacts[label]))) == []


@pytest.mark.parametrize("label", ["ocsp-good", "ocsp-revoked"])
def test_ocsp_responses_lint_clean(artifacts: dict[str, Path], label: str) -> None:
    assert errors(lint("lint_ocsp_response", str(artifacts[label]))) == []


def test_linter_catches_a_broken_crl(pki_server, tmp_path: Path) -> None:
    """Control: a CRL without cRLNumber and authorityKeyIdentifier (RFC 5280 §5.2.1, §5.2.3)."""
    ca = x509.load_pem_x509_certificate(pki_server.ca_cert_path.read_bytes())
    key = read_private_key(pki_server.ca_key_path, "ca.key")
    now = datetime.now(UTC)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now)
           .next_update(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    path = tmp_path / "broken.der"
    path.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    codes = {f["code"] for f in errors(lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(path)))}
    assert {"pkix.crl_number_missing", "pkix.authority_key_identifier_missing"} <= codes
