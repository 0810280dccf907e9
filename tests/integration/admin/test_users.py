"""Users: create (generated or given password), get, list with filters, update, me."""
from __future__ import annotations

import uuid

import pytest
from admin_support import AdminClient, audit_rows, problem


def _name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}"


def test_create_user_with_generated_password(admin_server, admin: AdminClient) -> None:
    name = _name("gen")
    resp = admin.post("/users", {"username": name, "email": f"{name}@example.com"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    user, password = body["user"], body["password"]
    assert user["role"] == "auditor" and not user["disabled"] and len(password) >= 20
    assert resp.headers["Location"].endswith(f"/api/users/{user['id']}")
    assert admin.get(f"/users/{user['id']}").json() == {**user, "updated_at": user["updated_at"]}
    session = AdminClient(admin_server).as_user(name, password)
    assert session.get("/users/me").json()["id"] == user["id"]
    assert password not in str(audit_rows(admin_server, "user.create"))


def test_create_user_with_given_password_and_role(admin_server, admin: AdminClient) -> None:
    name = _name("given")
    resp = admin.post("/users", {"username": name, "email": "g@example.com", "role": "admin",
                                 "password": "a long enough password"})
    assert resp.status_code == 201 and resp.json()["user"]["role"] == "admin"
    AdminClient(admin_server).as_user(name, "a long enough password")


def test_duplicate_username_is_409(admin: AdminClient) -> None:
    name = _name("dup")
    assert admin.post("/users", {"username": name, "email": "d@example.com"}).status_code == 201
    problem(admin.post("/users", {"username": name, "email": "e@example.com"}), 409, "conflict")


@pytest.mark.parametrize("body", [
    {"username": "bad name", "email": "x@example.com"},
    {"username": "-leading", "email": "x@example.com"},
    {"username": "x" * 65, "email": "x@example.com"},
    {"username": "ok-name", "email": "no-at-sign"},
    {"username": "ok-name", "email": "two@@example.com"},
    {"username": "ok-name", "email": "x@example.com", "role": "root"},
    {"username": "ok-name", "email": "x@example.com", "password": "short"},
    {"username": "ok-name"},
    {"email": "x@example.com"},
    {"username": "name\n", "email": "x@example.com"},
], ids=["space", "leading-dash", "too-long", "no-at", "two-at", "bad-role", "short-password",
        "no-email", "no-username", "trailing-newline"])
def test_create_user_bad_input(admin: AdminClient, body: dict) -> None:
    problem(admin.post("/users", body), 400, "badRequest")


def test_list_users_filters(admin: AdminClient) -> None:
    name = _name("filt")
    created = admin.post("/users", {"username": name, "email": "f@example.com"}).json()["user"]
    admin.patch(f"/users/{created['id']}", {"disabled": True})
    disabled = [u["username"] for p in admin.pages("/users", {"disabled": "true"})
                for u in p["items"]]
    assert name in disabled
    admins = [u for p in admin.pages("/users", {"role": "admin"}) for u in p["items"]]
    assert admins and all(u["role"] == "admin" for u in admins)
    assert "root" in [u["username"] for u in admins]
    problem(admin.get("/users", params={"role": "superuser"}), 400)
    problem(admin.get("/users", params={"disabled": "yes"}), 400)


def test_update_user(admin: AdminClient) -> None:
    user = admin.post("/users", {"username": _name("upd"), "email": "u@example.com"}).json()["user"]
    resp = admin.patch(f"/users/{user['id']}", {"role": "admin", "email": "new@example.com"})
    assert resp.status_code == 200
    assert resp.json()["role"] == "admin" and resp.json()["email"] == "new@example.com"
    problem(admin.patch(f"/users/{user['id']}", {}), 400)
    problem(admin.patch(f"/users/{user['id']}", {"username": "renamed"}), 400)
    problem(admin.patch(f"/users/{uuid.uuid4()}", {"role": "admin"}), 404, "notFound")


def test_unknown_user_is_404(admin: AdminClient) -> None:
    problem(admin.get(f"/users/{uuid.uuid4()}"), 404, "notFound")
    problem(admin.get("/users/not-a-uuid"), 404, "notFound")
    problem(admin.post(f"/users/{uuid.uuid4()}/reset-password"), 404)


def test_reset_password_with_given_password(admin_server, admin: AdminClient) -> None:
    name = _name("pw")
    user = admin.post("/users", {"username": name, "email": "p@example.com"}).json()["user"]
    resp = admin.post(f"/users/{user['id']}/reset-password", {"password": "another long password"})
    assert resp.status_code == 200 and resp.json()["password"] == "another long password"
    AdminClient(admin_server).as_user(name, "another long password")
    problem(admin.post(f"/users/{user['id']}/reset-password", {"password": "short"}), 400)
