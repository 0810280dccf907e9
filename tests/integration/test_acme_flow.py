"""The ACME happy paths against a running server process (RFC 8555 §7), with the raw client.

Every response is checked for what RFC 8555 requires of all of them: a Replay-Nonce (§6.5) and a
Link rel="index" to the directory (§7.1); errors are application/problem+json (§6.7).
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store

from support.acme_client import (ERROR_PREFIX, PEM_CHAIN, PROBLEM_JSON, AcmeClient,
                                 Http01Responder, expect, make_csr, problem_type)

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]+$")  # base64url, RFC 8555 §6.5.1


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.localhost"


@pytest.fixture(scope="module")
def responder(acme_server) -> Iterator[Http01Responder]:
    with Http01Responder(acme_server.http01_port) as http01:
        yield http01


class Checked:
    """An on_response hook that checks every ACME response and remembers what it saw."""

    def __init__(self, directory_url: str) -> None:
        self.directory_url = directory_url
        self.seen: list[requests.Response] = []

    def __call__(self, response: requests.Response) -> None:
        self.seen.append(response)
        if response.url == self.directory_url:
            return
        where = f"{response.request.method} {response.url} → {response.status_code}"
        nonce = response.headers.get("Replay-Nonce", "")
        assert NONCE_RE.match(nonce), f"{where}: Replay-Nonce {nonce!r}"
        assert f'<{self.directory_url}>;rel="index"' in response.headers.get("Link", "").replace(
            " ", ""), f"{where}: Link {response.headers.get('Link')!r}"
        if response.status_code >= 400:
            assert response.headers["Content-Type"].startswith(PROBLEM_JSON), where


@pytest.fixture
def client(acme_server) -> AcmeClient:
    return AcmeClient(acme_server.directory_url, on_response=Checked(acme_server.directory_url))


def registered(acme_server, **kwargs) -> AcmeClient:
    account = AcmeClient(acme_server.directory_url, on_response=Checked(acme_server.directory_url),
                         **kwargs)
    expect(account.new_account(contact=["mailto:flow@example.com"]), 201)
    return account


@pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 204)], ids=["head", "get"])
def test_new_nonce(client: AcmeClient, method: str, status: int) -> None:
    """RFC 8555 §7.2: HEAD → 200, GET → 204, both with a nonce and Cache-Control: no-store."""
    response = client.nonce_response(method)
    assert response.status_code == status
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert response.content == b""


def test_directory(client: AcmeClient) -> None:
    for entry in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert client.directory[entry].startswith("http"), entry


def test_issue_two_names_and_an_ip(acme_server, responder: Http01Responder) -> None:
    """account → order (2 dns + 1 ip) → http-01 → finalize → download; then authz reuse."""
    client = registered(acme_server)
    again = client.new_account()  # §7.3.1: the same key finds the same account
    assert (again.status_code, again.headers["Location"]) == (200, client.kid)

    names = [name("flow-a"), name("flow-b"), "127.0.0.1"]
    created = expect(client.new_order(names), 201)
    order_url, order = created.headers["Location"], created.json()
    assert order["status"] == "pending"
    assert sorted(i["value"] for i in order["identifiers"]) == sorted(names)
    assert len(order["authorizations"]) == 3
    statuses = [order["status"]]

    for authz_url in order["authorizations"]:
        got = expect(client.get_authz(authz_url), 200)
        authz = got.json()
        assert authz["status"] == "pending" and got.headers.get("Retry-After"), authz_url
        kinds = {c["type"]: c for c in authz["challenges"]}
        assert "http-01" in kinds
        if authz["identifier"]["type"] == "ip":  # RFC 8738 §7: no dns-01 for ip identifiers
            assert authz["identifier"]["value"] == "127.0.0.1" and "dns-01" not in kinds
        token = kinds["http-01"]["token"]
        responder.add(token, client.key_authorization(token))
        answered = expect(client.respond(kinds["http-01"]["url"]), 200)
        assert answered.json()["status"] in ("pending", "processing", "valid")
        assert 'rel="up"' in answered.headers.get("Link", "")  # §7.5.1: link to the authz
    for authz_url in order["authorizations"]:
        authz = expect(client.poll(authz_url, {"valid"}), 200).json()
        assert authz["status"] == "valid", authz
        http01 = next(c for c in authz["challenges"] if c["type"] == "http-01")
        assert http01["status"] == "valid" and "validated" in http01

    ready = expect(client.poll(order_url, {"ready"}), 200).json()
    statuses.append(ready["status"])
    csr, key = make_csr(names)
    finalized = expect(client.finalize(ready, csr), 200)
    statuses.append(finalized.json()["status"])
    assert finalized.headers["Location"] == order_url
    if finalized.json()["status"] == "processing":
        assert finalized.headers.get("Retry-After")
    done = expect(client.poll(order_url, {"valid"}), 200).json()
    statuses.append(done["status"])
    assert done["status"] == "valid" and done["certificate"].startswith("http")
    # §7.1.6: pending → ready → processing → valid, never backwards
    assert [s for s in ["pending", "ready", "processing", "valid"] if s in statuses] == list(
        dict.fromkeys(statuses))

    chain_response = expect(client.download(done["certificate"]), 200)
    assert chain_response.headers["Content-Type"].startswith(PEM_CHAIN)
    chain = x509.load_pem_x509_certificates(chain_response.content)
    leaf = chain[0]
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    got = set(sans.get_values_for_type(x509.DNSName))
    got |= {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert got == set(names)
    verify_chain(chain, acme_server.root_cert_path, names[0])

    # §7.4 + authorization reuse: a second order for the same names is ready at once
    second = expect(client.new_order(names), 201).json()
    assert second["status"] == "ready"
    assert sorted(second["authorizations"]) == sorted(order["authorizations"])

    account = expect(client.post(client.kid), 200).json()
    listed = expect(client.post(account["orders"]), 200).json()["orders"]
    assert order_url in listed and created.headers["Location"] in listed


def verify_chain(chain: list[x509.Certificate], root_cert_path, dns_name: str) -> None:
    """Each certificate is signed by the next; the last by the CA; and a path-building
    verifier (RFC 5280 profile) accepts the leaf for `dns_name` with the CA as the only root."""
    root = x509.load_pem_x509_certificate(root_cert_path.read_bytes())
    issuers = [c for c in chain[1:] if c != root]
    for child, parent in zip([chain[0], *issuers], [*issuers, root]):
        child.verify_directly_issued_by(parent)
    verifier = (PolicyBuilder().store(Store([root])).time(datetime.now(timezone.utc))
                .build_server_verifier(x509.DNSName(dns_name)))
    verifier.verify(chain[0], issuers)


def test_account_update_and_deactivate(acme_server) -> None:
    client = registered(acme_server)
    updated = expect(client.update_account(contact=["mailto:new@example.com"]), 200).json()
    assert updated["contact"] == ["mailto:new@example.com"] and updated["status"] == "valid"
    gone = expect(client.deactivate_account(), 200).json()
    assert gone["status"] == "deactivated"
    refused = client.new_order([name("after-deactivate")])  # §7.3.6
    assert (refused.status_code, problem_type(refused)) == (403, ERROR_PREFIX + "unauthorized")


def test_only_return_existing(acme_server, client: AcmeClient) -> None:
    """§7.3.1: onlyReturnExisting finds an account by key, or answers accountDoesNotExist."""
    unknown = client.new_account(only_return_existing=True)
    assert (unknown.status_code, problem_type(unknown)) == (
        400, ERROR_PREFIX + "accountDoesNotExist")
    assert "Location" not in unknown.headers
    expect(client.new_account(), 201)
    known = expect(client.new_account(only_return_existing=True), 200)
    assert known.headers["Location"] == client.kid


def test_authz_deactivation_invalidates_order(acme_server) -> None:
    """§7.5.2: a client may deactivate an authz; its order then becomes invalid (§7.1.6)."""
    client = registered(acme_server)
    created = expect(client.new_order([name("deact")]), 201)
    authz_url = created.json()["authorizations"][0]
    assert expect(client.deactivate_authz(authz_url), 200).json()["status"] == "deactivated"
    assert expect(client.get_authz(authz_url), 200).json()["status"] == "deactivated"
    order = expect(client.post(created.headers["Location"]), 200).json()
    assert order["status"] == "invalid"


def test_key_change(acme_server) -> None:
    """§7.3.5: roll to a new key; the old one stops working; a key in use answers 409."""
    client = registered(acme_server)
    old_key, kid = client.key, client.kid
    new_key = ec.generate_private_key(ec.SECP384R1())
    changed = expect(client.key_change(new_key), 200)
    assert changed.json()["status"] == "valid"
    assert expect(client.post(kid), 200).json()["status"] == "valid"  # signed by the new key
    stale = client.post(kid, key=old_key)
    assert 400 <= stale.status_code < 500 and problem_type(stale)
    lookup = AcmeClient(acme_server.directory_url, key=old_key)
    assert problem_type(lookup.new_account(only_return_existing=True)) == (
        ERROR_PREFIX + "accountDoesNotExist")

    other = registered(acme_server)
    conflict = client.key_change(other.key)
    assert conflict.status_code == 409
    assert problem_type(conflict) == ERROR_PREFIX + "malformed"
    assert conflict.headers.get("Location") == other.kid  # §7.3.5: the account using that key
    assert client.key is new_key  # unchanged
    assert expect(client.post(kid), 200).json()["status"] == "valid"


def test_client_retries_once_on_bad_nonce(acme_server) -> None:
    """The client's own promise (RFC 8555 §6.5): a badNonce answer carries a fresh nonce, and
    the client retries once with it."""
    client = registered(acme_server)
    client._nonces.append("bm90LWEtbm9uY2U")  # a stale nonce at the top of the pool
    seen: list[requests.Response] = client.on_response.seen  # type: ignore[union-attr]
    before = len(seen)
    expect(client.post(client.kid), 200)
    assert [problem_type(r) for r in seen[before:]] == [ERROR_PREFIX + "badNonce", None]
