"""login, logout, whoami, openapi and `users`."""
from __future__ import annotations

import getpass
import sys
from typing import Any

from . import output, session
from .client import EXIT_OK, EXIT_USAGE, CliError
from .context import Context, shows
from .output import Column, when
from .tree import Tree

USER_COLUMNS: list[Column] = [("ID", "id"), ("USERNAME", "username"), ("ROLE", "role"), ("EMAIL", "email"),
                ("DISABLED", "disabled"), ("LOCKED", "locked"),
                ("LAST LOGIN", lambda u: when(u.get("last_login_at")))]
USER_FIELDS: list[Column] = [("id", "id"), ("username", "username"), ("role", "role"), ("email", "email"),
               ("disabled", "disabled"), ("locked until", "locked_until"),
               ("last login", "last_login_at"), ("created", "created_at"),
               ("updated", "updated_at")]


def _read_password(ctx: Context, prompt: str) -> str:
    if ctx.opt("password_stdin"):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CliError("no password on standard input", EXIT_USAGE)
        return line
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: use --password-stdin", EXIT_USAGE)
    return getpass.getpass(prompt)


def login(ctx: Context) -> int:
    """Exchange username and password for a token and save the session (0600)."""
    username = ctx.opt("username")
    if not username:
        if not sys.stdin.isatty():
            raise CliError("--username is required without a terminal", EXIT_USAGE)
        username = input("Username: ").strip()
    password = _read_password(ctx, f"Password for {username}: ")
    got = ctx.api.call("login", body={"username": username, "password": password}, auth=False)
    saved = session.Session(url=ctx.api.base_url, token=got["token"], username=username,
                            expires_at=got["expires_at"])
    session.save(ctx.session_path, saved)
    if ctx.json:
        output.as_json({"user": got["user"], "expires_at": got["expires_at"],
                        "session": str(ctx.session_path)})
    else:
        print(f"logged in to {ctx.api.base_url} as {username} ({got['user']['role']}) "
              f"until {when(got['expires_at'])}")
    return EXIT_OK


def logout(ctx: Context) -> int:
    """Revoke the token on the server, then forget the session."""
    if ctx.api.token:
        ctx.api.call("logout")
    removed = session.remove(ctx.session_path)
    if not ctx.json:
        print("logged out" if (ctx.api.token or removed) else "not logged in")
    return EXIT_OK


def whoami(ctx: Context) -> int:
    return ctx.show(ctx.api.call("getMe"), USER_FIELDS)


def openapi(ctx: Context) -> int:
    """Print the server's OpenAPI document (JSON)."""
    output.as_json(ctx.api.call("getOpenApi", auth=False))
    return EXIT_OK


def list_users(ctx: Context) -> int:
    disabled = {True: "true", False: "false", None: None}[ctx.opt("disabled")]
    return ctx.listing("listUsers", {"role": ctx.opt("role"), "disabled": disabled},
                       USER_COLUMNS)


show_user = shows("getUser", USER_FIELDS, user_id="id")


def _with_password(ctx: Context, got: dict[str, Any], verb: str) -> int:
    if ctx.json:
        output.as_json(got)
        return EXIT_OK
    user = got["user"]
    print(f"{verb} {user['role']} user {user['username']} ({user['id']})")
    print(f"password: {got['password']}")
    output.note("The password is shown only this once.")
    return EXIT_OK


def create_user(ctx: Context) -> int:
    body = {"username": ctx.opt("username"), "email": ctx.opt("email"), "role": ctx.opt("role")}
    if ctx.opt("password_stdin"):
        body["password"] = _read_password(ctx, "")
    return _with_password(ctx, ctx.api.call("createUser", body=body), "created")


def update_user(ctx: Context) -> int:
    body = {k: v for k, v in (("role", ctx.opt("role")), ("email", ctx.opt("email")),
                              ("disabled", ctx.opt("disabled"))) if v is not None}
    if not body:
        raise CliError("nothing to change: give --role, --email, --disable or --enable",
                       EXIT_USAGE)
    got = ctx.api.call("updateUser", params={"user_id": ctx.opt("id")}, body=body)
    return ctx.show(got, USER_FIELDS)


def reset_password(ctx: Context) -> int:
    body = {"password": _read_password(ctx, "")} if ctx.opt("password_stdin") else None
    got = ctx.api.call("resetPassword", params={"user_id": ctx.opt("id")}, body=body)
    return _with_password(ctx, got, "new password for")


def register(tree: Tree) -> None:
    p = tree.command("login", login, ["login"], "log in and keep the token in a 0600 session "
                     "file", token=False)
    p.add_argument("--username", "-u", help="login name (asked when omitted)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    tree.command("logout", logout, ["logout"], "revoke the token and forget the session")
    tree.command("whoami", whoami, ["getMe"], "the user of the current token")
    tree.command("openapi", openapi, ["getOpenApi"], "print the API's OpenAPI document",
                 token=False)

    users = tree.group("users", "admin API users (operators and auditors)")
    p = users.command("list", list_users, ["listUsers"], "list users", paged=True)
    p.add_argument("--role", choices=("admin", "auditor"))
    state = p.add_mutually_exclusive_group()
    state.add_argument("--disabled", dest="disabled", action="store_const", const=True)
    state.add_argument("--enabled", dest="disabled", action="store_const", const=False)
    users.command("show", show_user, ["getUser"], "show a user").add_argument("id")
    p = users.command("create", create_user, ["createUser"],
                      "create a user; the password (generated unless given) is printed once")
    p.add_argument("--username", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--role", choices=("admin", "auditor"), default="auditor")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input instead of generating one")
    p = users.command("update", update_user, ["updateUser"],
                      "change role, e-mail or disabled (a role change or disabling revokes "
                      "the user's tokens)")
    p.add_argument("id")
    p.add_argument("--role", choices=("admin", "auditor"))
    p.add_argument("--email")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--disable", dest="disabled", action="store_const", const=True)
    state.add_argument("--enable", dest="disabled", action="store_const", const=False)
    p = users.command("reset-password", reset_password, ["resetPassword"],
                      "set a new password (printed once) and revoke the user's tokens")
    p.add_argument("id")
    p.add_argument("--password-stdin", action="store_true")
