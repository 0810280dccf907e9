"""Every endpoint with no token, as auditor (read only) and as admin."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from admin_support import AdminClient, audit_rows, problem

# (method, path, body). {user}, {kid}, {entry} are real objects; {uuid} a random id.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/users", None),
    ("POST", "/users", {"username": "role-{rand}", "email": "r@example.com"}),
    ("GET", "/users/me", None),
    ("GET", "/users/{user}", None),
    ("PATCH", "/users/{user}", {"email": "changed@example.com"}),
    ("POST", "/users/{user}/reset-password", None),
    ("GET", "/accounts", None),
    ("GET", "/accounts/{uuid}", None),
    ("POST", "/accounts/{uuid}/deactivate", None),
    ("GET", "/orders", None),
    ("GET", "/orders/{uuid}", None),
    ("GET", "/authorizations", None),
    ("GET", "/authorizations/{uuid}", None),
    ("GET", "/certificates", None),
    ("GET", "/certificates/{uuid}", None),
    ("POST", "/certificates/{uuid}/revoke", {"reason": 4}),
    ("POST", "/certificates/bulk-revoke", {"filter": {"name": "nothing.invalid"}}),
    ("GET", "/eab", None),
    ("POST", "/eab", {"label": "roles"}),
    ("GET", "/eab/{kid}", None),
    ("POST", "/eab/{kid}/revoke", None),
    ("GET", "/allowlists", None),
    ("POST", "/allowlists", {"scope": "eab", "scope_id": "{kid}", "kind": "suffix",
                             "value": "{rand}.example.com"}),
    ("GET", "/allowlists/{entry}", None),
    ("DELETE", "/allowlists/{entry}", None),
    ("GET", "/audit", None),
    ("GET", "/audit/export", None),
    ("GET", "/notifications", None),
    ("POST", "/notifications/{uuid}/retry", None),
    ("POST", "/notifications/retry-failed", None),
    ("GET", "/maintenance", None),
    ("POST", "/maintenance", {"enabled": False}),
    ("POST", "/auth/logout", None),
]
PUBLIC = [("GET", "/openapi.json"), ("POST", "/auth/login")]
IDS = [f"{m} {p}" for m, p, _ in ENDPOINTS]


@pytest.fixture
def objects(admin: AdminClient) -> dict[str, str]:
    """Fresh objects for the placeholders (the admin run modifies or removes them)."""
    rand = uuid.uuid4().hex[:8]
    user = admin.post("/users", {"username": f"obj-{rand}", "email": "o@example.com"}).json()
    kid = admin.post("/eab", {"label": "objects"}).json()["kid"]
    entry = admin.post("/allowlists", {"scope": "eab", "scope_id": kid, "kind": "name",
                                       "value": f"{rand}.example.org"}).json()
    return {"user": user["user"]["id"], "kid": kid, "entry": entry["id"],
            "uuid": str(uuid.uuid4()), "rand": rand}


def _fill(value: Any, objects: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**objects)
    if isinstance(value, dict):
        return {k: _fill(v, objects) for k, v in value.items()}
    return value


def _call(client: AdminClient, method: str, path: str, body: Any, objects: dict) -> Any:
    return client.request(method, _fill(path, objects), json_body=_fill(body, objects))


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_without_token(anon: AdminClient, objects: dict, method: str, path: str, body: Any) -> None:
    problem(_call(anon, method, path, body, objects), 401, "unauthorized")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_auditor(admin_server, auditor: AdminClient, objects: dict, method: str, path: str,
                 body: Any) -> None:
    resp = _call(auditor, method, path, body, objects)
    if method == "GET" or path == "/auth/logout":
        assert resp.status_code in (200, 204, 404), resp.text
    else:
        problem(resp, 403, "forbidden")
        denied = [r for r in audit_rows(admin_server, "access.denied") if r["actor"] == "watcher"]
        assert denied[-1]["outcome"] == "denied" and denied[-1]["details"]["method"] == method


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_admin(admin: AdminClient, objects: dict, method: str, path: str, body: Any) -> None:
    resp = _call(admin, method, path, body, objects)
    uses_random_id = "{uuid}" in path
    expected = (404,) if uses_random_id else (200, 201, 204)
    assert resp.status_code in expected, resp.text
    if resp.status_code >= 400:
        problem(resp, resp.status_code)


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_endpoints_need_no_token(anon: AdminClient, root_password: str, method: str,
                                        path: str) -> None:
    body = {"username": "root", "password": root_password} if method == "POST" else None
    assert anon.request(method, path, json_body=body).status_code == 200
