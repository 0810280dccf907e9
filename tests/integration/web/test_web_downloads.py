"""Certificate downloads in process: the format Accept selects (RFC 8555 §7.4.2, RFC 9110
§12.5.1), Vary: Accept on every answer, and alternate chains through a cross-signed issuing CA,
each at its own URL behind Link rel="alternate"."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from conftest import DIRECTORY, Issued, issue_in, web_app_with
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from support.acme_client import ERROR_PREFIX, AcmeClient, expect
from support.crosssign import cross_sign
from support.tools import required_tool
from support.wsgi import BASE_URL, in_process_session

from acmeeh.app import AcmeehApp
from acmeeh.issuance import generate_dev_ca

PEM_CHAIN, DER, PKCS7 = ("application/pem-certificate-chain", "application/pkix-cert",
                         "application/pkcs7-mime")


@pytest.fixture(scope="module")
def cross(tmp_path_factory: pytest.TempPathFactory):
    ca = generate_dev_ca(tmp_path_factory.mktemp("downloads_ca"))
    return ca, cross_sign(ca, tmp_path_factory.mktemp("cross"))


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory, cross) -> Iterator[AcmeehApp]:
    ca, crossed = cross
    with web_app_with(tmp_path_factory,
                      ca={**ca.ca_settings(), "alternate_chains": [str(crossed.chain)]}) as app:
        yield app


@pytest.fixture(scope="module")
def issued_once(web_app: AcmeehApp) -> Issued:
    """One certificate shared by the tests of this module."""
    return issue_in(AcmeClient(DIRECTORY, session=in_process_session(web_app, BASE_URL)))


def _certs(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, PEM_CHAIN),
        ("*/*", PEM_CHAIN),
        ("application/*", PEM_CHAIN),
        (PEM_CHAIN, PEM_CHAIN),
        (DER, DER),
        (PKCS7, PKCS7),
        (f"{PEM_CHAIN};q=0.5, {DER}", DER),
        (f"{DER};q=0.2, {PKCS7};q=0.9, */*;q=0.1", PKCS7),
        (f"{PEM_CHAIN};q=0, */*", DER),
    ],
    ids=["absent", "any", "application-any", "pem", "der", "pkcs7", "q-der", "q-pkcs7",
         "pem-refused"],
)
def test_accept_selects_the_format(issued_once: Issued, accept, media_type: str) -> None:
    client = issued_once.client
    headers = {} if accept is None else {"Accept": accept}
    resp = expect(client.post(issued_once.order["certificate"], headers=headers), 200)
    assert resp.headers["Content-Type"].split(";")[0] == media_type
    assert resp.headers["Vary"] == "Accept"
    served = _certs(issued_once.chain.encode())
    if media_type == PEM_CHAIN:
        assert _certs(resp.content) == served
    elif media_type == DER:
        assert x509.load_der_x509_certificate(resp.content) == served[0]
    else:
        assert resp.headers["Content-Type"] == f"{PKCS7}; smime-type=certs-only"
        # A DER SET OF: the leaf and its chain, in no promised order (RFC 2315 §9.1).
        assert set(pkcs7.load_der_pkcs7_certificates(resp.content)) == set(served)


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/json", "application/pem-certificate-chain;q=0",
     "application/x-pem-file, text/*"],
    ids=["html", "json", "pem-q0", "unknown"],
)
def test_an_unacceptable_format_is_406(issued_once: Issued, accept: str) -> None:
    resp = issued_once.client.post(issued_once.order["certificate"], headers={"Accept": accept})
    assert resp.status_code == 406
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["Vary"] == "Accept"
    assert resp.json()["type"] == ERROR_PREFIX + "malformed"
    assert PEM_CHAIN in resp.json()["detail"]


def test_a_problem_varies_with_accept_too(issued_once: Issued, issue) -> None:
    stranger = issue().client  # another account: 404, as for a certificate that does not exist
    resp = stranger.post(issued_once.order["certificate"], headers={"Accept": DER})
    assert resp.status_code == 404 and resp.headers["Vary"] == "Accept"


def test_alternate_chain_through_the_cross_signed_ca(issued_once: Issued, cross) -> None:
    _, crossed = cross
    url = issued_once.order["certificate"]
    default = expect(issued_once.client.post(url), 200)
    assert default.headers["Link"].count('rel="alternate"') == 1
    assert f'<{url}/1>;rel="alternate"' in default.headers["Link"]
    alternate = expect(issued_once.client.post(f"{url}/1"), 200)
    leaf, *rest = _certs(alternate.content)
    assert leaf == _certs(default.content)[0]
    assert rest == [crossed.cross]  # the cross root itself is a trust anchor: left out
    assert f'<{url}>;rel="alternate"' in alternate.headers["Link"]
    assert alternate.headers["Vary"] == "Accept"
    der = expect(issued_once.client.post(f"{url}/1", headers={"Accept": PKCS7}), 200)
    assert set(pkcs7.load_der_pkcs7_certificates(der.content)) == {leaf, crossed.cross}
    missing = issued_once.client.post(f"{url}/2")
    assert missing.status_code == 404 and missing.json()["type"] == ERROR_PREFIX + "malformed"


def test_openssl_verifies_both_chains(issued_once: Issued, cross, tmp_path) -> None:
    ca, crossed = cross
    url = issued_once.order["certificate"]
    openssl = required_tool("openssl", "apt-get install openssl")
    for chain_url, root in ((url, ca.root), (f"{url}/1", crossed.root)):
        leaf, *rest = _certs(expect(issued_once.client.post(chain_url), 200).content)
        (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
        (tmp_path / "rest.pem").write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in rest))
        done = subprocess.run([openssl, "verify", "-x509_strict", "-CAfile", str(root),
                               "-untrusted", str(tmp_path / "rest.pem"), str(tmp_path / "leaf.pem")],
                              capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
