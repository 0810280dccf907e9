"""The OCSP responder (RFC 6960) against a running server, checked by `openssl ocsp` and by
parsing responses: good → revoked after an ACME revocation, GET and POST forms, caching headers,
nonce echo, malformedRequest / unauthorized / unknown."""
from __future__ import annotations

import base64
import dataclasses
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import psycopg
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from support.acme_client import expect
from support.ocsp import request_for_serial

from acmeeh.authority.ocsp import OCSPResponder
from acmeeh.workers.revocation_listener import RevocationListener

from .conftest import openssl, wait_for

OCSP_REQUEST = "application/ocsp-request"
TIMEOUT = 15


def ocsp_url(server) -> str:
    return f"{server.base_url}/ocsp"


def ca_cert(server) -> x509.Certificate:
    return x509.load_pem_x509_certificate(server.ca_cert_path.read_bytes())


def request_der(cert, issuer, *, nonce: bytes | None = None, algorithm=None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def post(server, der: bytes) -> requests.Response:
    response = requests.post(ocsp_url(server), data=der, headers={"Content-Type": OCSP_REQUEST},
                             timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/ocsp-response"
    return response


def get(server, der: bytes, *, encode: bool = True, headers: dict | None = None) -> requests.Response:
    text = base64.b64encode(der).decode()
    path = quote(text, safe="") if encode else text
    return requests.get(f"{ocsp_url(server)}/{path}", headers=headers or {}, timeout=TIMEOUT)


def parsed(response: requests.Response) -> ocsp.OCSPResponse:
    return ocsp.load_der_ocsp_response(response.content)


def openssl_ocsp(server, leaf_path, *extra: str) -> str:
    done = openssl("ocsp", "-issuer", str(server.ca_cert_path), "-cert", str(leaf_path),
                   "-url", ocsp_url(server), "-CAfile", str(server.root_cert_path),
                   "-verify_other", str(server.ca_cert_path), "-resp_text",
                   *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Response verify OK" in done.stderr + done.stdout, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("nonce", [True, False], ids=["with-nonce", "no-nonce"])
def test_openssl_good_then_revoked(pki_server, issue, nonce: bool) -> None:
    """openssl ocsp says good; after revokeCert (RFC 8555 §7.6) it says revoked, with the
    reason, even when the good answer was reused (the state is part of the cache key) and the
    state came from memory (once the announcement reached each worker: milliseconds, more on a
    loaded machine, so the check polls, bounded)."""
    leaf = issue()
    extra = () if nonce else ("-no_nonce",)
    for _ in range(2):  # the second no-nonce query is served from the responder's cache
        text = openssl_ocsp(pki_server, leaf.pem_path, *extra)
        assert f"{leaf.pem_path}: good" in text, text
    expect(leaf.client.revoke(leaf.der, reason=1), 200)
    text = wait_for(lambda: (t := openssl_ocsp(pki_server, leaf.pem_path, *extra))
                    and f"{leaf.pem_path}: revoked" in t and t, timeout=10, interval=0.05)
    assert "keyCompromise" in text, text
    if nonce:
        assert "WARNING: no nonce" not in text


def test_post_echoes_nonce_and_uses_delegated_responder(pki_server, issue) -> None:
    leaf = issue()
    nonce = secrets.token_bytes(16)
    response = post(pki_server, request_der(leaf.cert, ca_cert(pki_server), nonce=nonce))
    assert response.headers["Cache-Control"] == "no-store"
    resp = parsed(response)
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    (responder,) = resp.certificates
    responder.verify_directly_issued_by(ca_cert(pki_server))
    eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING in eku
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert resp.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(
        responder.public_key()).digest


def test_get_form_caching_headers_and_conditional(pki_server, issue) -> None:
    """RFC 6960 A.1 GET; RFC 5019 §6.2 headers consistent with nextUpdate; the second GET is
    the same signed response (reused, not re-signed); If-None-Match gives 304."""
    leaf = issue()
    der = request_der(leaf.cert, ca_cert(pki_server))
    first = get(pki_server, der)
    assert first.status_code == 200 and first.headers["Content-Type"] == "application/ocsp-response"
    resp = parsed(first)
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.next_update_utc - resp.this_update_utc == timedelta(days=1)
    cache = first.headers["Cache-Control"]
    assert "public" in cache and "no-transform" in cache
    max_age = int(cache.split("max-age=")[1].split(",")[0])
    assert 0 < max_age <= 86400
    expires = datetime.strptime(first.headers["Expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    modified = datetime.strptime(first.headers["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert expires == resp.next_update_utc and modified == resp.this_update_utc
    # A burst of the same query reuses the signature (same bytes; each gunicorn worker caches).
    again = [get(pki_server, der).content for _ in range(6)]
    assert first.content in again
    not_modified = get(pki_server, der, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code in (200, 304)  # 200 when another worker answered
    if not_modified.status_code == 304:
        assert not_modified.content == b""


def test_get_with_slashes_in_base64(pki_server, issue) -> None:
    """base64 may contain '/' (even '//'): both the URL-encoded and the raw form work."""
    leaf = issue()
    issuer = ca_cert(pki_server)
    for _ in range(2000):  # bounded search for a request whose base64 has a '//'
        der = request_der(leaf.cert, issuer, nonce=secrets.token_bytes(16))
        if "//" in base64.b64encode(der).decode():
            break
    else:
        pytest.fail("no request with '//' in its base64 form")
    for encode in (True, False):
        response = get(pki_server, der, encode=encode)
        assert response.status_code == 200, (encode, response.text)
        assert parsed(response).certificate_status == ocsp.OCSPCertStatus.GOOD


def other_ca_leaf() -> tuple[x509.Certificate, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Somebody Else's CA")])
    now = datetime.now(UTC)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
          .not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(name)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return ca, leaf


def unknown_serial_request(server) -> bytes:
    """A request for a serial the CA never issued."""
    return request_for_serial(ca_cert(server), x509.random_serial_number())


def foreign_request(server) -> bytes:
    ca, leaf = other_ca_leaf()
    return request_der(leaf, ca)


def two_entries(server) -> bytes:
    """requestList with two Requests, spliced by hand (cryptography builds only one)."""
    one, two = unknown_serial_request(server), unknown_serial_request(server)

    def entry(der: bytes) -> bytes:  # the Request inside OCSPRequest/TBSRequest/requestList
        assert all(der[i] < 0x80 for i in (1, 3, 5)), "expected short DER lengths"
        return der[6:]

    def seq(body: bytes) -> bytes:
        n = len(body)
        return b"\x30" + (bytes([n]) if n < 128 else bytes([0x81, n])) + body

    return seq(seq(seq(entry(one) + entry(two))))


BAD = {
    "garbage": (lambda s: b"not an ocsp request", ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "empty": (lambda s: b"", ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "two-entries": (two_entries, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "other-issuer": (foreign_request, ocsp.OCSPResponseStatus.UNAUTHORIZED),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_unsuccessful_responses(pki_server, case: str, method: str) -> None:
    make, status = BAD[case]
    der = make(pki_server)
    response = post(pki_server, der) if method == "POST" else get(pki_server, der)
    if method == "GET" and not der:  # GET /ocsp/ with nothing after it
        assert response.status_code in (200, 404, 405)
        return
    assert response.status_code == 200
    assert parsed(response).response_status == status
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_serial_is_unknown(pki_server) -> None:
    resp = parsed(post(pki_server, unknown_serial_request(pki_server)))
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_certificate_carries_ocsp_and_crl_urls(pki_server, issue) -> None:
    leaf = issue()
    aia = leaf.cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [ocsp_url(pki_server)]
    dps = leaf.cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in dps for n in p.full_name] == [f"{pki_server.base_url}/crl"]


# --- the responder in process (a second instance on the same database) ---------------------------
def responder_with(server_env, **ocsp_changes):
    settings = server_env.settings
    changed = dataclasses.replace(settings, ocsp=dataclasses.replace(settings.ocsp, **ocsp_changes))
    return OCSPResponder.from_env(dataclasses.replace(server_env, settings=changed))


def test_ca_signer_signs_with_the_ca_key(pki_server, server_env, issue) -> None:
    leaf = issue()
    responder = responder_with(server_env, signer="ca")
    resp = ocsp.load_der_ocsp_response(responder.respond(request_der(leaf.cert, ca_cert(pki_server))).der)
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.certificates == []  # RFC 6960 §4.2.2.2: the CA itself needs no certificate
    ski = ca_cert(pki_server).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert resp.responder_key_hash == ski.digest


def test_cache_reuses_signatures_but_never_hides_a_revocation(pki_server, server_env, issue) -> None:
    """Another instance revokes (here: the server, through ACME); this instance's cached
    'good' answer is not served again, because the state read per request is in the key."""
    leaf = issue()
    responder = responder_with(server_env, signer="ca", cache_seconds=3600)
    query = request_der(leaf.cert, ca_cert(pki_server))
    first = responder.respond(query)
    assert responder.respond(query).der == first.der  # reused signature
    with_nonce = [responder.respond(request_der(leaf.cert, ca_cert(pki_server), nonce=n)).der
                  for n in (b"nonce-a", b"nonce-b")]
    assert with_nonce[0] != with_nonce[1]  # a nonce is always signed afresh
    expect(leaf.client.revoke(leaf.der, reason=5), 200)
    after = ocsp.load_der_ocsp_response(responder.respond(query).der)
    assert after.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert after.revocation_reason == x509.ReasonFlags.cessation_of_operation


def test_cache_is_bounded(pki_server, server_env) -> None:
    responder = responder_with(server_env, signer="ca", cache_size=5)
    for _ in range(20):
        responder.respond(unknown_serial_request(pki_server))
    assert len(responder._cache) == 5


# --- states answered from memory while revocations are heard (ocsp.listen_for_revocations) ------
class CountingPool:
    """The real pool, counting the connections the responder takes (one per database read)."""

    def __init__(self, pool) -> None:
        self.pool, self.taken = pool, 0

    def connection(self, *args, **kwargs):
        self.taken += 1
        return self.pool.connection(*args, **kwargs)


def status_of(answer) -> ocsp.OCSPCertStatus:
    return ocsp.load_der_ocsp_response(answer.der).certificate_status


@pytest.fixture
def heard(pki_server, server_env):
    """(responder on a counting pool, its running listener) of a second instance."""
    pool = CountingPool(server_env.pool)
    env = dataclasses.replace(server_env, pool=pool)
    settings = env.settings
    responder = OCSPResponder.from_env(dataclasses.replace(
        env, settings=dataclasses.replace(settings, ocsp=dataclasses.replace(
            settings.ocsp, signer="ca", cache_seconds=3600))))
    listener = RevocationListener(responder.states, pki_server.database_url,
                                  connect_timeout=5).start()
    try:
        wait_for(lambda: responder.states.live, timeout=10)
        yield responder, pool
    finally:
        listener.stop()


def test_stored_states_come_from_memory_and_revocations_reach_it(pki_server, heard, issue) -> None:
    responder, pool = heard
    leaf = issue()
    query = request_der(leaf.cert, ca_cert(pki_server))
    assert status_of(responder.respond(query)) == ocsp.OCSPCertStatus.GOOD
    taken = pool.taken
    for _ in range(5):
        assert status_of(responder.respond(query)) == ocsp.OCSPCertStatus.GOOD
    assert pool.taken == taken  # no database read while the state is heard
    expect(leaf.client.revoke(leaf.der, reason=4), 200)  # another instance revokes
    wait_for(lambda: status_of(responder.respond(query)) == ocsp.OCSPCertStatus.REVOKED,
             timeout=5, interval=0.01)
    unknown = unknown_serial_request(pki_server)
    taken = pool.taken
    for _ in range(2):
        responder.respond(unknown)
    assert pool.taken == taken + 2  # an unknown serial may become known: read every time


def test_a_lost_listener_reads_the_database_until_it_hears_again(pki_server, heard, issue) -> None:
    """The listening connections end (the server's too): every instance forgets and reads each
    state, then reconnects, proves it hears and answers from memory again."""
    responder, pool = heard
    leaf = issue()
    query = request_der(leaf.cert, ca_cert(pki_server))
    responder.respond(query)
    with psycopg.connect(pki_server.database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE pid <> pg_backend_pid() AND (query LIKE 'LISTEN acmeeh%%'"
                      " OR query LIKE 'SELECT pg_notify(%%')")
    wait_for(lambda: not responder.states.live, timeout=5, interval=0.05)
    taken = pool.taken
    assert status_of(responder.respond(query)) == ocsp.OCSPCertStatus.GOOD
    assert pool.taken == taken + 1
    wait_for(lambda: responder.states.live, timeout=15)
    wait_for(lambda: all_hear(pki_server), timeout=15)


def listeners(server) -> dict[str, float]:
    """acmeeh_ocsp_revocation_listeners by state, summed over the server's workers."""
    text = requests.get(f"{server.base_url}/metrics", timeout=TIMEOUT).text
    prefix = 'acmeeh_ocsp_revocation_listeners{state="'
    return {line[len(prefix):].split('"')[0]: float(line.split()[-1])
            for line in text.splitlines() if line.startswith(prefix)}


def all_hear(server) -> bool:
    return listeners(server) == {"hearing": 2.0, "not_hearing": 0.0}  # two gunicorn workers


def test_the_server_hears_revocations(pki_server) -> None:
    """runtime.start (the gunicorn worker hook) started every worker's listener."""
    wait_for(lambda: all_hear(pki_server), timeout=15)
