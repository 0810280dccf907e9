"""Login, logout and admin users: list, create, get, update (role, email, disabled),
reset password, and `me`."""
from __future__ import annotations

import uuid

from flask import Response, g, request

from ..store import admin as admin_store
from . import audit, operators, problems, render
from .blueprint import audited, body, created, ctx, json_response, note, paged
from .inputs import Query


def login() -> Response:
    """Exchange username and password for a bearer token. Every attempt is audited (a
    throttled one within the audit budget); the client learns only success, a generic 401 (no
    hint whether the user exists or is locked), or 429 once its address used up its failures."""
    c = ctx()
    creds = body("LoginRequest")
    username = creds["username"]
    try:
        result = operators.login(c.env, username, creds["password"], c.dummy_hash,
                                 remote_addr=request.remote_addr)
    except operators.LoginThrottled as throttled:
        c.refusals.record(c.env, actor=None, attempted_by=username, action="auth.login",
                          target=f"user:{username}", outcome=audit.DENIED,
                          details={"reason": "address throttled"},
                          remote_addr=request.remote_addr)
        raise problems.too_many_requests("too many failed logins from this address; retry"
                                         f" after {throttled.retry_after} s",
                                         throttled.retry_after) from None
    except operators.LoginFailed as failed:
        audit.record(c.env, actor=None, attempted_by=username, action="auth.login",
                     target=f"user:{username}", outcome=audit.FAILURE,
                     details={"reason": failed.reason}, remote_addr=request.remote_addr)
        raise problems.unauthorized("invalid username or password") from None
    user = result.user
    audit.record(c.env, actor=audit.Actor(user.username, user.id, user.role), action="auth.login",
                 target=f"user:{username}", outcome=audit.SUCCESS,
                 remote_addr=request.remote_addr)
    return json_response({
        "token": result.token, "token_type": "Bearer", "expires_at": render.ts(result.expires_at),
        "user": render.user(user, c.env.clock()),
    })


@audited("auth.logout")
def logout() -> Response:
    body("Empty", optional=True)
    operators.logout(ctx().env, g.admin_owner)
    note(target=f"user:{g.admin_owner.user_id}")
    return Response(status=204)


def me() -> Response:
    Query(())
    row = operators.load_user(ctx().env, g.admin_owner.user_id)
    return json_response(render.user(row, ctx().env.clock()))


def list_users() -> Response:
    q = Query(("limit", "cursor", "role", "disabled"))
    role = q.choice("role", operators.ROLES)
    disabled = q.choice("disabled", ("true", "false"))
    now = ctx().env.clock()
    return paged(q, lambda conn, page: admin_store.list_users(
        conn, page, role=role, disabled=None if disabled is None else disabled == "true"),
        lambda r: render.user(r, now))


@audited("user.create")
def create_user() -> Response:
    data = body("NewUser")
    row, password = operators.create_user(
        ctx().env, username=data["username"], email=data["email"],
        role=data.get("role", "auditor"), password=data.get("password"),
    )
    note(target=f"user:{row.id}", username=row.username, role=row.role,
         generated=("password" not in data))
    return created({"user": render.user(row, ctx().env.clock()), "password": password},
                   f"/users/{row.id}")


def get_user(user_id: uuid.UUID) -> Response:
    Query(())
    return json_response(render.user(operators.load_user(ctx().env, user_id), ctx().env.clock()))


@audited("user.update", target="user:{user_id}")
def update_user(user_id: uuid.UUID) -> Response:
    data = body("UserUpdate")
    note(changes=sorted(data))
    row = operators.update_user(ctx().env, user_id, role=data.get("role"),
                                email=data.get("email"), disabled=data.get("disabled"))
    note(username=row.username, role=row.role, disabled=row.disabled)
    return json_response(render.user(row, ctx().env.clock()))


@audited("user.reset_password", target="user:{user_id}")
def reset_password(user_id: uuid.UUID) -> Response:
    data = body("PasswordReset", optional=True)
    row, password = operators.reset_password(ctx().env, user_id, data.get("password"))
    note(username=row.username, generated=("password" not in data))
    return json_response({"user": render.user(row, ctx().env.clock()), "password": password})
