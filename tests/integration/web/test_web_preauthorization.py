"""Pre-authorization (RFC 8555 §7.4.1) with the raw client, against an app built by
create_app and served in process (challenges.auto_accept stands in for the network check)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from support.acme_client import ERROR_PREFIX, AcmeClient, Http01Responder, expect, problem_type
from support.dns import free_port


@pytest.fixture(scope="module")
def responder() -> Iterator[Http01Responder]:
    with Http01Responder(free_port()) as http01:
        yield http01


@pytest.fixture
def client(client_for) -> AcmeClient:
    c = client_for()
    expect(c.new_account(), 201)
    return c


def new_authz(client: AcmeClient, kind: str, value: str):
    return client.post(client.directory["newAuthz"], {"identifier": {"type": kind, "value": value}})


def test_preauthorized_name_makes_the_next_order_ready(client, responder) -> None:
    name = f"pre-{uuid.uuid4().hex[:8]}.localhost"
    created = expect(new_authz(client, "dns", name.upper()), 201)
    body = created.json()
    assert body["identifier"] == {"type": "dns", "value": name}
    assert body["status"] == "pending"
    assert created.headers["Location"].startswith(client.directory["newAuthz"].rsplit("/", 1)[0])
    assert {c["type"] for c in body["challenges"]} == {"http-01", "dns-01", "tls-alpn-01"}

    http = next(c for c in body["challenges"] if c["type"] == "http-01")
    responder.add(http["token"], client.key_authorization(http["token"]))
    expect(client.respond(http["url"]), 200)
    assert expect(client.poll(created.headers["Location"]), 200).json()["status"] == "valid"

    order = expect(client.new_order([name]), 201).json()
    assert order["status"] == "ready"
    assert order["authorizations"] == [created.headers["Location"]]


@pytest.mark.parametrize(("kind", "value", "error", "status"), [
    ("dns", "*.wild.localhost", "rejectedIdentifier", 400),
    ("dns", "bad..name", "malformed", 400),  # syntax is malformed (issue 12 item 3)
    ("email", "a@b.test", "unsupportedIdentifier", 400),
])
def test_bad_preauthorization_requests(client, kind, value, error, status) -> None:
    response = new_authz(client, kind, value)
    assert response.status_code == status
    assert problem_type(response) == ERROR_PREFIX + error


def test_preauthorization_needs_an_identifier_object(client) -> None:
    response = client.post(client.directory["newAuthz"], {"identifier": "a.localhost"})
    assert (response.status_code, problem_type(response)) == (400, ERROR_PREFIX + "malformed")
