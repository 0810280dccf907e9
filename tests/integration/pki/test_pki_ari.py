"""ACME Renewal Information (RFC 9773) against a running server: renewalInfo in the directory,
the suggested window and Retry-After, bad and unknown certIDs, revoked certificates, operator
windows, and `replaces` in newOrder (accepted once, then alreadyReplaced)."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import josepy
import pytest
import requests
from acme import client as acme_lib
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.acme_client import ERROR_PREFIX, AcmeClient, expect, problem_type

from acmeeh.authority import renewal

from .conftest import name

TIMEOUT = 15


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_id(cert: x509.Certificate, *, pad_serial: bool = False) -> str:
    """RFC 9773 §4.1, computed independently of the server code."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    n = cert.serial_number
    serial = n.to_bytes((n.bit_length() + 8) // 8, "big")  # two's complement, sign bit clear
    if pad_serial:
        serial = b"\x00" + serial  # a non-minimal encoding of the same number
    return f"{b64(aki)}.{b64(serial)}"


def ari(client: AcmeClient, text: str) -> requests.Response:
    return requests.get(f"{client.url('renewalInfo')}/{text}", timeout=TIMEOUT)


def window(response: requests.Response) -> tuple[datetime, datetime]:
    body = response.json()["suggestedWindow"]
    return tuple(datetime.fromisoformat(body[k]) for k in ("start", "end"))


def test_directory_advertises_renewal_info(account: AcmeClient, pki_server) -> None:
    assert account.directory["renewalInfo"] == f"{pki_server.base_url}/acme/renewal-info"


def test_window_of_a_certificate(account: AcmeClient, issue) -> None:
    """The window covers 2/3 to 5/6 of the validity period (configurable), with Retry-After."""
    leaf = issue()
    assert renewal.cert_id(leaf.der) == cert_id(leaf.cert)
    response = ari(account, cert_id(leaf.cert))
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Retry-After"] == "120"
    start, end = window(response)
    nb, na = leaf.cert.not_valid_before_utc, leaf.cert.not_valid_after_utc
    assert abs(start - (nb + (na - nb) * 0.6667)) <= timedelta(seconds=1)
    assert abs(end - (nb + (na - nb) * 0.8333)) <= timedelta(seconds=1)
    assert nb < start < end < na


@pytest.mark.parametrize(
    "text",
    ["no-dot-here", "AAAA.", ".AQ", "AA==.AQ", "AAAA.AQ==", "!!!.AQ", "AAAA.gA", "AAAA.AA",
     "A.AQ", "AAAA." + "A" * 600],
    ids=["no-dot", "empty-serial", "empty-aki", "padded-aki", "padded-serial", "bad-alphabet",
         "negative-serial", "zero-serial", "bad-length", "too-long"],
)
def test_bad_cert_ids(account: AcmeClient, text: str) -> None:
    response = ari(account, text)
    assert response.status_code == 400, response.text
    assert problem_type(response) == ERROR_PREFIX + "malformed"


def test_unknown_certificates_are_404(account: AcmeClient, issue) -> None:
    leaf = issue()
    aki, serial = cert_id(leaf.cert).split(".")
    never_issued = b64(bytes(range(1, 9)))
    for text in (f"{aki}.{never_issued}", f"{b64(b'other-ca-key-id')}.{serial}"):
        response = ari(account, text)
        assert response.status_code == 404, text
        assert problem_type(response) == ERROR_PREFIX + "malformed"


def test_revoked_certificate_window_is_in_the_past(account: AcmeClient, issue) -> None:
    leaf = issue()
    expect(leaf.client.revoke(leaf.der), 200)
    start, end = window(expect(ari(account, cert_id(leaf.cert)), 200))
    assert start < end <= datetime.now(UTC) + timedelta(seconds=1)


def test_operator_window_overrides(account: AcmeClient, issue, server_env) -> None:
    leaf = issue()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    end = start + timedelta(hours=2)
    changed = renewal.set_windows(server_env, [format(leaf.cert.serial_number, "X")], start=start,
                                  end=end, explanation_url="https://example.com/incident")
    assert changed == 1
    response = expect(ari(account, cert_id(leaf.cert)), 200)
    assert window(response) == (start, end)
    assert response.json()["explanationURL"] == "https://example.com/incident"
    assert renewal.clear_windows(server_env, [format(leaf.cert.serial_number, "x")]) == 1
    assert window(expect(ari(account, cert_id(leaf.cert)), 200)) != (start, end)


# --- replaces (RFC 9773 §5) ---------------------------------------------------------------------
def test_replaces_accepted_once(account: AcmeClient, issue) -> None:
    leaf = issue()
    padded = cert_id(leaf.cert, pad_serial=True)  # recorded in canonical form
    first = expect(account.new_order(leaf.names, replaces=padded), 201)
    assert first.json()["replaces"] == cert_id(leaf.cert)
    second = account.new_order(leaf.names, replaces=cert_id(leaf.cert))
    assert second.status_code == 409, second.text
    assert problem_type(second) == ERROR_PREFIX + "alreadyReplaced"


def test_replaces_freed_when_the_replacing_order_fails(account: AcmeClient, issue) -> None:
    """Only an order that is not invalid counts (RFC 9773 §5): deactivating the replacing
    order's authorization makes it invalid (RFC 8555 §7.1.6), and the certificate is free again."""
    leaf = issue()
    text = cert_id(leaf.cert)
    order = expect(account.new_order(leaf.names, replaces=text), 201).json()
    (authz_url,) = order["authorizations"]
    assert expect(account.deactivate_authz(authz_url), 200).json()["status"] == "deactivated"
    again = expect(account.new_order(leaf.names, replaces=text), 201)
    assert again.json()["replaces"] == text
    blocked = account.new_order(leaf.names, replaces=text)
    assert blocked.status_code == 409 and problem_type(blocked) == ERROR_PREFIX + "alreadyReplaced"


def test_replaces_refused(pki_server, account: AcmeClient, issue) -> None:
    leaf = issue()
    text = cert_id(leaf.cert)
    stranger = AcmeClient(pki_server.directory_url)
    expect(stranger.new_account(), 201)
    cases = [
        (stranger, leaf.names, text, 403, "unauthorized"),
        (account, [name("unrelated")], text, 400, "malformed"),
        (account, leaf.names, text.split(".")[0] + ".AQIDBAUGBwg", 400, "malformed"),
        (account, leaf.names, "not-a-cert-id", 400, "malformed"),
    ]
    for client, names, replaces, status, kind in cases:
        response = client.new_order(names, replaces=replaces)
        assert response.status_code == status, (kind, response.text)
        assert problem_type(response) == ERROR_PREFIX + kind
    # None of the refusals consumed the certificate: the owner may still replace it.
    expect(account.new_order(leaf.names, replaces=text), 201)


def test_acme_library_reads_the_window(pki_server, issue) -> None:
    """certbot's `acme` library (ClientV2.renewal_time) computes the same certID and picks a
    renewal time inside our window; its retry time follows our Retry-After."""
    leaf = issue()
    net = acme_lib.ClientNetwork(josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1())),
                                 user_agent="acmeeh-tests")
    client = acme_lib.ClientV2(acme_lib.ClientV2.get_directory(pki_server.directory_url, net), net)
    pem = leaf.cert.public_bytes(serialization.Encoding.PEM)
    when, retry_at = client.renewal_time(pem)
    nb, na = leaf.cert.not_valid_before_utc, leaf.cert.not_valid_after_utc
    assert nb + (na - nb) * 0.66 <= when <= nb + (na - nb) * 0.84
    assert timedelta(seconds=60) < retry_at - datetime.now() <= timedelta(seconds=125)


@pytest.mark.parametrize("serial", [1, 0x7F, 0x80, 0xFF, 0x100, 0x8000, (1 << 159) + 12345])
def test_serial_encoding_is_minimal_twos_complement(serial: int) -> None:
    encoded = renewal.serial_bytes(serial)
    assert int.from_bytes(encoded, "big", signed=True) == serial
    assert len(encoded) == 1 or not (encoded[0] == 0 and encoded[1] < 0x80)  # no extra 00
    assert encoded[0] < 0x80  # sign bit clear
    assert renewal.parse_cert_id(f"{b64(b'k')}.{b64(encoded)}").serial_number == serial
