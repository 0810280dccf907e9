"""Login, bearer tokens (expired, revoked, forged), lockout, and revocation on role change,
password reset and disable."""
from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import pytest
from admin_support import AdminClient, admin_overrides, audit_rows, create_user, db, problem


def test_login_returns_token_and_user(anon: AdminClient, root_password: str) -> None:
    resp = anon.login("root", root_password)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and len(body["token"]) == 43
    expires = datetime.fromisoformat(body["expires_at"])
    lifetime = (expires - datetime.now(UTC)).total_seconds()
    assert 3500 < lifetime <= 3600  # admin_api.token_lifetime_seconds default
    assert body["user"]["username"] == "root" and body["user"]["role"] == "admin"
    assert "password_hash" not in resp.text and root_password not in resp.text
    assert anon.get("/users/me").json()["username"] == "root"


@pytest.mark.parametrize(("body", "status"), [
    ({"username": "root", "password": "wrong-password"}, 401),
    ({"username": "nobody-here", "password": "whatever-it-is"}, 401),
    ({"username": "root"}, 400),
    ({"username": "", "password": "x"}, 400),
    ({"username": "root", "password": 12345}, 400),
    ({"username": ["root"], "password": "x"}, 400),
    ({"username": "root", "password": "x", "otp": "1"}, 400),
], ids=["wrong-password", "unknown-user", "missing-password", "empty-username",
        "number-password", "list-username", "unknown-field"])
def test_login_failures(anon: AdminClient, root_password: str, body: dict, status: int) -> None:
    resp = anon.post("/auth/login", body)
    doc = problem(resp, status)
    if status == 401:
        # The same answer whatever the reason, so it reveals nothing about the user.
        assert doc["detail"] == "invalid username or password"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_failed_logins_are_audited_with_reason(admin_server, anon: AdminClient) -> None:
    anon.post("/auth/login", {"username": "ghost-user", "password": "not-a-password"})
    rows = [r for r in audit_rows(admin_server, "auth.login") if r["actor"] == "ghost-user"]
    assert rows and rows[-1]["outcome"] == "failure"
    assert rows[-1]["details"] == {"reason": "unknown user"}


@pytest.mark.parametrize("header", [
    None,
    "Basic cm9vdDpwYXNzd29yZA==",
    "Bearer",
    "Bearer " + "A" * 43,  # right shape, never issued
    "Bearer " + secrets.token_urlsafe(32),  # forged: random bytes of the right length
    "Bearer not a token",
    "Bearer " + "é" * 43,
    "bearer " + "B" * 42,
], ids=["missing", "basic", "empty-bearer", "unknown", "forged", "spaces", "non-ascii", "short"])
def test_bad_tokens_are_401(anon: AdminClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    resp = anon.get("/users/me", headers=headers)
    problem(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_of_another_server_is_refused(
    start_acme_server, admin_server, root_password: str
) -> None:
    """Tokens are stored as HMACs under the server's token_secret: a token row copied to a
    server with another secret does not authenticate."""
    other = start_acme_server(admin_overrides(), workers=1)
    create_user(other, "root")
    token = AdminClient(admin_server).as_user("root", root_password).token
    with db(admin_server) as src, db(other) as dst:
        rows = src.execute("SELECT id, token_hash, expires_at FROM admin_tokens").fetchall()
        user_id = dst.execute("SELECT id FROM admin_users WHERE username = 'root'").fetchone()[0]
        for token_id, token_hash, expires in rows:
            dst.execute("INSERT INTO admin_tokens (id, user_id, token_hash, expires_at)"
                        " VALUES (%s, %s, %s, %s)", (token_id, user_id, token_hash, expires))
    problem(AdminClient(other, token).get("/users/me"), 401)


def test_expired_token(admin_server, admin: AdminClient) -> None:
    assert admin.get("/users/me").status_code == 200
    with db(admin_server) as conn:
        conn.execute("UPDATE admin_tokens SET expires_at = now() - interval '1 second'"
                     " WHERE revoked_at IS NULL AND user_id ="
                     " (SELECT id FROM admin_users WHERE username = 'root')")
    problem(admin.get("/users/me"), 401, "unauthorized")


def test_logout_revokes_token(admin: AdminClient) -> None:
    assert admin.post("/auth/logout").status_code == 204
    problem(admin.get("/users/me"), 401)
    problem(admin.post("/auth/logout"), 401)


def test_auditor_may_log_out(auditor: AdminClient) -> None:
    assert auditor.post("/auth/logout", {}).status_code == 204
    problem(auditor.get("/users"), 401)


def test_lockout_after_max_failed_logins(admin_server, anon: AdminClient) -> None:
    name = f"lock-{uuid.uuid4().hex[:8]}"
    password = create_user(admin_server, name, "auditor")
    for _ in range(3):  # admin_api.max_failed_logins = 3 on this server
        problem(anon.post("/auth/login", {"username": name, "password": "wrong-wrong"}), 401)
    locked = anon.post("/auth/login", {"username": name, "password": password})
    assert problem(locked, 401)["detail"] == "invalid username or password"
    reasons = [r["details"]["reason"] for r in audit_rows(admin_server, "auth.login")
               if r["actor"] == name]
    assert reasons == ["bad password"] * 3 + ["user locked out"]
    with db(admin_server) as conn:  # let the lockout run out
        conn.execute("UPDATE admin_users SET locked_until = now() - interval '1 second'"
                     " WHERE username = %s", (name,))
    # One more failure after the lockout starts the count afresh: no immediate re-lock.
    problem(anon.post("/auth/login", {"username": name, "password": "wrong-again"}), 401)
    assert anon.post("/auth/login", {"username": name, "password": password}).status_code == 200


def test_reset_password_lifts_lockout_and_revokes_tokens(
    admin_server, admin: AdminClient, anon: AdminClient
) -> None:
    name = f"reset-{uuid.uuid4().hex[:8]}"
    old = create_user(admin_server, name, "auditor")
    session = AdminClient(admin_server).as_user(name, old)
    for _ in range(3):
        anon.post("/auth/login", {"username": name, "password": "wrong-wrong"})
    user_id = session.get("/users/me").json()["id"]
    assert admin.get(f"/users/{user_id}").json()["locked"] is True
    resp = admin.post(f"/users/{user_id}/reset-password")
    assert resp.status_code == 200, resp.text
    new = resp.json()["password"]
    assert resp.json()["user"]["locked"] is False and new != old
    problem(session.get("/users/me"), 401)
    problem(anon.post("/auth/login", {"username": name, "password": old}), 401)
    assert AdminClient(admin_server).login(name, new).status_code == 200


@pytest.mark.parametrize("change", [{"role": "admin"}, {"disabled": True}], ids=["role", "disable"])
def test_role_change_and_disable_revoke_tokens(
    admin_server, admin: AdminClient, change: dict
) -> None:
    name = f"rev-{uuid.uuid4().hex[:8]}"
    password = create_user(admin_server, name, "auditor")
    session = AdminClient(admin_server).as_user(name, password)
    user_id = session.get("/users/me").json()["id"]
    assert admin.patch(f"/users/{user_id}", change).status_code == 200
    problem(session.get("/users/me"), 401)
    relogin = AdminClient(admin_server).login(name, password)
    assert relogin.status_code == (401 if change.get("disabled") else 200)
    # An e-mail change alone leaves tokens alone.
    if relogin.status_code == 200:
        fresh = AdminClient(admin_server, relogin.json()["token"])
        assert admin.patch(f"/users/{user_id}", {"email": "new@example.com"}).status_code == 200
        assert fresh.get("/users/me").json()["email"] == "new@example.com"


def test_last_enabled_admin_cannot_be_demoted_or_disabled(
    admin_server, admin: AdminClient
) -> None:
    me = admin.get("/users/me").json()["id"]
    with db(admin_server) as conn:
        others = [r[0] for r in conn.execute(
            "UPDATE admin_users SET disabled = true WHERE role = 'admin' AND NOT disabled"
            " AND username <> 'root' RETURNING id")]
    try:
        for change in ({"role": "auditor"}, {"disabled": True}):
            problem(admin.patch(f"/users/{me}", change), 409, "conflict")
        assert admin.get("/users/me").status_code == 200
    finally:
        with db(admin_server) as conn:
            conn.execute("UPDATE admin_users SET disabled = false WHERE id = ANY(%s)", (others,))
