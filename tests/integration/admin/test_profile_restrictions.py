"""Certificate profile restrictions per EAB key and per account (admin API), enforced by
newOrder with invalidProfile; the server runs the built-in profiles (tlsserver default,
tlsclient, shortlived)."""
from __future__ import annotations

import uuid

import pytest
from admin_support import AdminClient, audit_rows, eab_binding, problem
from support.acme_client import ERROR_PREFIX, AcmeClient, expect

INVALID_PROFILE = ERROR_PREFIX + "invalidProfile"


def account(server, *, binding: tuple[str, str] | None = None) -> AcmeClient:
    client = AcmeClient(server.directory_url)
    extra = {}
    if binding is not None:
        kid, key = binding
        extra["externalAccountBinding"] = eab_binding(client.key, kid, key,
                                                      client.url("newAccount"))
    expect(client.new_account(contact=["mailto:profiles@example.com"], **extra), 201)
    return client


def order(client: AcmeClient, profile: str | None) -> tuple[int, dict]:
    extra = {} if profile is None else {"profile": profile}
    resp = client.new_order([f"p{uuid.uuid4().hex[:8]}.example.com"], **extra)
    return resp.status_code, resp.json()


def put(admin: AdminClient, path: str, profiles: list[str] | None):
    return admin.request("PUT", path, json_body={"profiles": profiles})


def test_account_restriction(admin_server, admin: AdminClient) -> None:
    client = account(admin_server)
    path = f"/accounts/{client.kid.rsplit('/', 1)[1]}/profiles"
    assert admin.get(path).json()["profiles"] is None
    set_ = put(admin, path, ["tlsclient", "shortlived", "tlsclient"])
    assert set_.status_code == 200, set_.text
    assert set_.json()["profiles"] == ["tlsclient", "shortlived"]
    assert set_.json()["updated_by"] == "root"
    assert admin.get(path).json()["profiles"] == ["tlsclient", "shortlived"]

    status, body = order(client, "tlsclient")
    assert (status, body["profile"]) == (201, "tlsclient")
    for refused in ("tlsserver", None):  # naming none asks for the default, tlsserver
        status, body = order(client, refused)
        assert (status, body["type"]) == (400, INVALID_PROFILE), body
        assert body["detail"] == ("profile tlsserver is not allowed for this account "
                                  "(allowed: shortlived, tlsclient)")
    assert order(account(admin_server), "tlsserver")[0] == 201  # others are not restricted

    lifted = put(admin, path, None)
    assert lifted.status_code == 200 and lifted.json()["profiles"] is None
    assert order(client, None)[0] == 201
    target = f"account:{client.kid.rsplit('/', 1)[1]}"
    rows = [r for r in audit_rows(admin_server, "account.profiles") if r["target"] == target]
    assert [r["details"]["profiles"] for r in rows] == [["tlsclient", "shortlived", "tlsclient"],
                                                        None]


def test_eab_and_account_restrictions_narrow_each_other(admin_server, admin: AdminClient) -> None:
    created = admin.post("/eab", {"label": "profiles"}).json()
    kid = created["kid"]
    assert put(admin, f"/eab/{kid}/profiles", ["tlsclient", "shortlived"]).status_code == 200
    bound = account(admin_server, binding=(kid, created["hmac_key"]))
    assert order(bound, "shortlived")[0] == 201
    status, body = order(bound, "tlsserver")
    assert (status, body["type"]) == (400, INVALID_PROFILE)
    assert "not allowed for this account" in body["detail"]

    path = f"/accounts/{bound.kid.rsplit('/', 1)[1]}/profiles"
    assert put(admin, path, ["tlsserver", "tlsclient"]).status_code == 200
    assert order(bound, "tlsclient")[0] == 201  # in both
    status, body = order(bound, "shortlived")  # the EAB key allows it, the account does not
    assert body["type"] == INVALID_PROFILE and body["detail"].endswith("(allowed: tlsclient)")
    assert admin.get(f"/eab/{kid}/profiles").json()["scope"] == "eab"


@pytest.mark.parametrize(
    ("target", "body", "status"),
    [
        ("account", {"profiles": ["gold"]}, 400),
        ("account", {"profiles": []}, 400),
        ("account", {"profiles": "tlsclient"}, 400),
        ("account", {"profiles": [7]}, 400),
        ("account", {}, 400),
        ("account", {"profiles": ["tlsclient"], "extra": 1}, 400),
        ("unknown-account", {"profiles": ["tlsclient"]}, 404),
        ("unknown-kid", {"profiles": ["tlsclient"]}, 404),
    ],
    ids=["unknown-profile", "empty", "not-a-list", "not-strings", "missing", "extra-field",
         "unknown-account", "unknown-kid"],
)
def test_bad_restrictions(admin_server, admin: AdminClient, target: str, body: dict,
                          status: int) -> None:
    path = {
        "account": lambda: f"/accounts/{account(admin_server).kid.rsplit('/', 1)[1]}/profiles",
        "unknown-account": lambda: f"/accounts/{uuid.uuid4()}/profiles",
        "unknown-kid": lambda: "/eab/no-such-kid/profiles",
    }[target]()
    problem(admin.request("PUT", path, json_body=body), status)
    if target != "account":
        problem(admin.get(path), 404)


def test_auditor_cannot_restrict(admin_server, auditor: AdminClient, admin: AdminClient) -> None:
    path = f"/accounts/{account(admin_server).kid.rsplit('/', 1)[1]}/profiles"
    problem(put(auditor, path, ["tlsclient"]), 403)
    assert auditor.get(path).status_code == 200
