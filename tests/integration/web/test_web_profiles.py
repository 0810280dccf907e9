"""The ACME profiles extension in process: meta.profiles, newOrder's profile stored and echoed,
the leaf shaped by the profile, and each refusal as a typed problem."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from conftest import web_app_with
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from support.acme_client import ERROR_PREFIX, AcmeClient, expect, make_csr

from acmeeh.app import AcmeehApp
from acmeeh.authority import profiles

PROFILES = {
    "tlsserver": {"description": "TLS server", "extended_key_usage": ["server_auth"]},
    "tlsclient": {"description": "mTLS client", "key_usage": ["digital_signature"],
                  "extended_key_usage": ["client_auth"]},
    "shortlived": {"description": "7 days", "validity_days": 7},
    "pair": {"description": "two names at most", "max_names": 2},
    "noip": {"description": "dns names only", "ip_addresses": False},
    "rsaonly": {"description": "RSA keys only", "key_types": ["RSA"], "common_name": False},
}


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeehApp]:
    with web_app_with(
        tmp_path_factory, ca={"profiles": PROFILES, "default_profile": "tlsserver"},
        security={"identifiers": {"allowed_suffixes": ["localhost"], "ip_addresses": True,
                                  "allowed_networks": ["192.0.2.0/24"]}},
    ) as app:
        yield app


def name() -> str:
    return f"p-{uuid.uuid4().hex[:8]}.localhost"


def account(client_for: Callable[[], AcmeClient]) -> AcmeClient:
    client = client_for()
    expect(client.new_account(contact=["mailto:profiles@example.com"]), 201)
    return client


def ready(client: AcmeClient, names: list[str], profile: str | None) -> dict:
    """A new order of `profile`, its authorizations validated: the order object, ready."""
    extra = {} if profile is None else {"profile": profile}
    created = expect(client.new_order(names, **extra), 201)
    for authz_url in created.json()["authorizations"]:
        challenge = expect(client.post(authz_url), 200).json()["challenges"][0]
        expect(client.respond(challenge["url"]), 200)
        assert client.poll(authz_url, timeout=10).json()["status"] == "valid"
    order = client.poll(created.headers["Location"], until=("ready",), timeout=10).json()
    order["url"] = created.headers["Location"]
    return order


def issue(client: AcmeClient, names: list[str], profile: str | None, key=None):
    order = ready(client, names, profile)
    expect(client.finalize(order, make_csr(names, key)[0]), 200)
    done = client.poll(order["url"], timeout=10).json()
    assert done["status"] == "valid", done
    pem = expect(client.download(done["certificate"]), 200).text
    return done, x509.load_pem_x509_certificate(pem.encode())


def test_directory_offers_every_profile(client_for) -> None:
    meta = client_for().directory["meta"]
    assert meta["profiles"] == {k: v["description"] for k, v in PROFILES.items()}


@pytest.mark.parametrize(
    ("profile", "echoed", "eku", "days"),
    [
        (None, "tlsserver", ExtendedKeyUsageOID.SERVER_AUTH, 90),
        ("tlsclient", "tlsclient", ExtendedKeyUsageOID.CLIENT_AUTH, 90),
        ("shortlived", "shortlived", ExtendedKeyUsageOID.SERVER_AUTH, 7),
    ],
    ids=["default", "tlsclient", "shortlived"],
)
def test_the_profile_is_stored_echoed_and_shapes_the_leaf(
    client_for, profile: str | None, echoed: str, eku, days: int
) -> None:
    client = account(client_for)
    done, leaf = issue(client, [name()], profile)
    assert done["profile"] == echoed
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [eku]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=days)


def test_rsa_profile_without_common_name(client_for) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, leaf = issue(account(client_for), [name()], "rsaonly", key)
    assert len(leaf.subject) == 0
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


@pytest.mark.parametrize(
    ("payload", "problem", "detail"),
    [
        ({"profile": "gold"}, "invalidProfile", "the server has no profile 'gold'"),
        ({"profile": ""}, "invalidProfile", "the server has no profile ''"),
        ({"profile": 7}, "malformed", "profile"),
        ({"profile": "pair", "names": 3}, "malformed",
         "profile pair allows at most 2 identifiers per order; this one has 3"),
        ({"profile": "noip", "ip": True}, "rejectedIdentifier",
         "profile noip does not allow ip identifiers (192.0.2.9)"),
    ],
    ids=["unknown", "empty", "not-a-string", "too-many-names", "ip-refused"],
)
def test_bad_new_orders(client_for, payload: dict, problem: str, detail: str) -> None:
    client = account(client_for)
    names = [name() for _ in range(payload.pop("names", 1))]
    if payload.pop("ip", False):
        names.append("192.0.2.9")
    refused = client.new_order(names, **payload)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["type"] == ERROR_PREFIX + problem
    assert detail in body["detail"]


def test_the_noip_profile_issues_dns_names_and_default_takes_ip(client_for) -> None:
    client = account(client_for)
    assert issue(client, [name()], "noip")[0]["profile"] == "noip"
    _, leaf = issue(client, [name(), "192.0.2.10"], None)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]


def test_a_key_type_the_profile_refuses_is_bad_csr(client_for) -> None:
    client = account(client_for)
    names = [name()]
    order = ready(client, names, "rsaonly")
    refused = client.finalize(order, make_csr(names, ec.generate_private_key(ec.SECP256R1()))[0])
    assert refused.status_code == 400
    assert refused.json()["type"] == ERROR_PREFIX + "badCSR"
    assert refused.json()["detail"] == "profile rsaonly does not accept P-256 keys (accepted: RSA)"
    assert client.post(order["url"]).json()["status"] == "ready"  # the order stays ready


def test_a_profile_the_account_may_not_use(web_app: AcmeehApp, client_for) -> None:
    client = account(client_for)
    account_id = client.kid.rsplit("/", 1)[1]
    profiles.restrict(web_app.runtime.env, scope="account", scope_id=account_id,
                      names=["tlsclient"], actor="test")
    refused = client.new_order([name()], profile="shortlived")
    assert refused.status_code == 400
    assert refused.json() == {
        "type": ERROR_PREFIX + "invalidProfile", "status": 400,
        "detail": "profile shortlived is not allowed for this account (allowed: tlsclient)"}
    assert client.new_order([name()], profile="tlsclient").status_code == 201
