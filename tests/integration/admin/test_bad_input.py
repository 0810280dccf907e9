"""Bad input of every kind gets a 4xx problem document, never a 500."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from admin_support import AdminClient, problem

JSON = {"Content-Type": "application/json"}
BIG = 70 * 1024  # admin_api.max_body_bytes is 64 KiB


def _chunks() -> Iterator[bytes]:
    yield b'{"username": "big", "email": "b@example.com", "pad": "'
    for _ in range(BIG // 1024):
        yield b"x" * 1024
    yield b'"}'


# (method, path, request kwargs, status, admin error name)
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", "/users", {"raw": b'{"username": "a"}', "headers": {"Content-Type": "text/plain"}},
     415, "unsupportedMediaType"),
    ("POST", "/users", {"raw": b'{"username": "a"}'}, 415, "unsupportedMediaType"),
    ("POST", "/users", {"raw": b"", "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"raw": b"{not json", "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"raw": b"[]", "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"raw": b'"user"', "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"raw": b"null", "headers": JSON}, 400, "badRequest"),
    ("POST", "/maintenance", {"raw": b'{"enabled": NaN}', "headers": JSON}, 400, "badRequest"),
    ("POST", "/maintenance", {"raw": b'{"enabled": Infinity}', "headers": JSON}, 400,
     "badRequest"),
    ("POST", "/users", {"raw": b"x" * BIG, "headers": JSON}, 413, "payloadTooLarge"),
    ("POST", "/users", {"raw": _chunks, "headers": JSON}, 413, "payloadTooLarge"),
    ("POST", "/users", {"raw": b"[" * 30000 + b"]" * 30000, "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"json_body": {"username": "nul\u0000", "email": "a@example.com"}}, 400,
     "badRequest"),
    ("POST", "/users", {"raw": b'{"username": "s\\ud800", "email": "a@example.com"}',
                        "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"raw": b'{"username": "\xff\xfe"}', "headers": JSON}, 400, "badRequest"),
    ("POST", "/users", {"json_body": {"username": "ok", "email": "a@example.com", "admin": 1}},
     400, "badRequest"),
    ("POST", "/users", {"json_body": {"username": "ok", "email": "a@example.com", "role": 1}},
     400, "badRequest"),
    ("POST", "/users", {"json_body": {"username": 7, "email": ["a@example.com"]}}, 400,
     "badRequest"),
    ("POST", "/maintenance", {"json_body": {"enabled": None}}, 400, "badRequest"),
    ("POST", "/certificates/bulk-revoke", {"json_body": {"filter": {"name": "x"}, "reason": "1"}},
     400, "badRequest"),
    ("POST", "/certificates/bulk-revoke", {"json_body": {"filter": {"name": "x"},
                                                         "dry_run": "no"}}, 400, "badRequest"),
    ("POST", "/eab", {"raw": b"{}", "headers": {"Content-Type": "application/xml"}}, 415,
     "unsupportedMediaType"),
    ("GET", "/users?color=blue", {}, 400, "badRequest"),
    ("GET", "/users?limit=1&limit=1", {}, 400, "badRequest"),
    ("GET", "/accounts?contact=a%00b", {}, 400, "badRequest"),
    ("GET", "/accounts?contact=" + "x" * 300, {}, 400, "badRequest"),
    ("GET", "/orders?account_id=nope", {}, 400, "badRequest"),
    ("GET", "/orders?created_after=2026-02-30T00:00:00Z", {}, 400, "badRequest"),
    ("GET", "/orders?status=done", {}, 400, "badRequest"),
    ("GET", "/certificates?expires_before=tomorrow", {}, 400, "badRequest"),
    ("GET", "/users/me?x=1", {}, 400, "badRequest"),
    ("GET", "/users/12345", {}, 404, "notFound"),
    ("GET", "/eab/" + "a" * 200, {}, 404, "notFound"),
    ("GET", "/eab/a%00b", {}, 404, "notFound"),
    ("POST", "/eab/a%00b/revoke", {}, 404, "notFound"),
    ("GET", "/nothing-here", {}, 404, "notFound"),
    ("GET", "", {}, 404, "notFound"),
    ("PUT", "/users", {"json_body": {}}, 405, "methodNotAllowed"),
    ("DELETE", "/maintenance", {}, 405, "methodNotAllowed"),
    ("GET", "/auth/login", {}, 405, "methodNotAllowed"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "name"), CASES,
                         ids=[f"{i}-{c[0]} {c[1][:30]}" for i, c in enumerate(CASES)])
def test_bad_input(admin: AdminClient, method: str, path: str, kwargs: dict, status: int,
                   name: str) -> None:
    kwargs = dict(kwargs)
    if callable(kwargs.get("raw")):
        kwargs["raw"] = kwargs["raw"]()
    resp = admin.request(method, path, **kwargs)
    body = problem(resp, status, name)
    assert body["type"] == f"urn:acmeeh:admin:error:{name}"
    if status == 405:
        assert method not in resp.headers["Allow"]


def test_schema_errors_name_the_fields(admin: AdminClient) -> None:
    body = problem(admin.post("/users", {"username": "ok", "email": 5, "extra": True}), 400)
    paths = {e["path"] for e in body["errors"]}
    assert paths == {"/", "/email"}
    assert any("extra" in e["message"] for e in body["errors"])


def test_charset_and_case_of_json_media_type_are_accepted(admin: AdminClient) -> None:
    resp = admin.request("POST", "/maintenance", raw=json.dumps({"enabled": False}).encode(),
                         headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert resp.status_code == 200, resp.text


def test_login_body_limits(anon: AdminClient) -> None:
    problem(anon.post("/auth/login", {"username": "u" * 65, "password": "p"}), 400)
    problem(anon.post("/auth/login", {"username": "u", "password": "p" * 1025}), 400)
    problem(anon.request("POST", "/auth/login", raw=b"x" * BIG, headers=JSON), 413)
