"""Identifier allowlists (global, per EAB key, per account) enforced by newOrder."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from admin_support import AdminClient, eab_binding, problem
from support.acme_client import ERROR_PREFIX, AcmeClient, expect

REJECTED = ERROR_PREFIX + "rejectedIdentifier"


def rand() -> str:
    return uuid.uuid4().hex[:8]


def account(server, *, binding=None) -> AcmeClient:
    client = AcmeClient(server.directory_url)
    extra = {}
    if binding is not None:
        kid, key = binding
        extra["externalAccountBinding"] = eab_binding(client.key, kid, key,
                                                      client.url("newAccount"))
    expect(client.new_account(contact=["mailto:allow@example.com"], **extra), 201)
    return client


@pytest.fixture
def entries(admin: AdminClient) -> Iterator[list[str]]:
    """Entries the test adds; removed afterwards (global ones affect the whole server)."""
    made: list[str] = []
    yield made
    for entry_id in made:
        admin.delete(f"/allowlists/{entry_id}")


def add(admin: AdminClient, made: list[str], **body: str) -> dict:
    resp = admin.post("/allowlists", body)
    assert resp.status_code == 201, resp.text
    made.append(resp.json()["id"])
    return resp.json()


def order_status(client: AcmeClient, *names: str) -> tuple[int, dict]:
    resp = client.new_order(list(names))
    return resp.status_code, resp.json()


def test_global_suffix(admin_server, admin: AdminClient, entries: list[str]) -> None:
    zone = f"g{rand()}.example.com"
    entry = add(admin, entries, scope="global", kind="suffix", value=zone.upper() + ".")
    assert entry["value"] == zone and entry["scope_id"] is None  # normalized
    client = account(admin_server)
    assert order_status(client, zone)[0] == 201
    assert order_status(client, f"www.{zone}", f"*.{zone}")[0] == 201
    status, body = order_status(client, f"www.{zone}", "elsewhere.example.net")
    assert status == 400 and body["type"] == REJECTED
    assert body["identifier"] == {"type": "dns", "value": "elsewhere.example.net"}
    status, body = order_status(client, "one.example.net", "two.example.net")
    assert body["type"] == REJECTED and len(body["subproblems"]) == 2
    admin.delete(f"/allowlists/{entries.pop()}")
    assert order_status(client, "elsewhere.example.net")[0] == 201


def test_account_scope_narrows_global(admin_server, admin: AdminClient, entries: list[str]) -> None:
    zone = f"a{rand()}.example.com"
    add(admin, entries, scope="global", kind="suffix", value=zone)
    narrow, other = account(admin_server), account(admin_server)
    narrow_id = narrow.kid.rsplit("/", 1)[1]
    add(admin, entries, scope="account", scope_id=narrow_id, kind="name", value=f"only.{zone}")
    assert order_status(narrow, f"only.{zone}")[0] == 201
    assert order_status(narrow, f"else.{zone}")[1]["type"] == REJECTED
    assert order_status(other, f"else.{zone}")[0] == 201
    listed = admin.get("/allowlists", params={"scope": "account", "scope_id": narrow_id}).json()
    assert [e["value"] for e in listed["items"]] == [f"only.{zone}"]


def test_eab_scope(admin_server, admin: AdminClient, entries: list[str]) -> None:
    created = admin.post("/eab", {"label": "allowlist"}).json()
    kid = created["kid"]
    zone = f"e{rand()}.example.com"
    add(admin, entries, scope="eab", scope_id=kid, kind="suffix", value=zone)
    bound = account(admin_server, binding=(kid, created["hmac_key"]))
    free = account(admin_server)
    assert order_status(bound, f"x.{zone}")[0] == 201
    assert order_status(bound, "x.example.org")[1]["type"] == REJECTED
    assert order_status(free, "x.example.org")[0] == 201


def test_name_entries_match_exactly(admin_server, admin: AdminClient, entries: list[str]) -> None:
    zone = f"n{rand()}.example.com"
    client = account(admin_server)
    account_id = client.kid.rsplit("/", 1)[1]
    add(admin, entries, scope="account", scope_id=account_id, kind="name", value=f"*.{zone}")
    add(admin, entries, scope="account", scope_id=account_id, kind="name", value="127.0.0.1")
    assert order_status(client, f"*.{zone}")[0] == 201
    assert order_status(client, f"x.{zone}")[1]["type"] == REJECTED
    assert order_status(client, zone)[1]["type"] == REJECTED
    assert order_status(client, "127.0.0.1")[0] == 201
    assert order_status(client, "127.0.0.2")[1]["type"] == REJECTED


@pytest.mark.parametrize(("body", "status"), [
    ({"scope": "global", "kind": "suffix", "value": "bad..name"}, 400),
    ({"scope": "global", "kind": "suffix", "value": "*.example.com"}, 400),
    ({"scope": "global", "kind": "suffix", "value": "10.0.0.1"}, 400),
    ({"scope": "global", "scope_id": "x", "kind": "name", "value": "a.example.com"}, 400),
    ({"scope": "account", "kind": "name", "value": "a.example.com"}, 400),
    ({"scope": "account", "scope_id": "not-a-uuid", "kind": "name", "value": "a.example"}, 400),
    ({"scope": "account", "scope_id": str(uuid.uuid4()), "kind": "name", "value": "a.b.c"}, 404),
    ({"scope": "eab", "scope_id": "kid-unknown", "kind": "name", "value": "a.example.com"}, 404),
    ({"scope": "team", "kind": "name", "value": "a.example.com"}, 400),
    ({"scope": "global", "kind": "regex", "value": ".*"}, 400),
    ({"scope": "global", "kind": "name", "value": ""}, 400),
    ({"scope": "global", "kind": "name"}, 400),
], ids=["bad-name", "wildcard-suffix", "ip-suffix", "global-with-id", "account-without-id",
        "account-bad-id", "account-unknown", "eab-unknown", "bad-scope", "bad-kind",
        "empty-value", "no-value"])
def test_bad_entries(admin: AdminClient, body: dict, status: int) -> None:
    problem(admin.post("/allowlists", body), status)


def test_duplicate_and_missing_entries(admin: AdminClient, entries: list[str]) -> None:
    body = {"scope": "global", "kind": "suffix", "value": f"d{rand()}.example.com"}
    entry = add(admin, entries, **body)
    problem(admin.post("/allowlists", body), 409, "conflict")
    assert admin.get(f"/allowlists/{entry['id']}").json() == entry
    assert admin.delete(f"/allowlists/{entry['id']}").status_code == 204
    entries.remove(entry["id"])
    problem(admin.get(f"/allowlists/{entry['id']}"), 404)
    problem(admin.delete(f"/allowlists/{entry['id']}"), 404)
