"""`admin create-user --username NAME --email ADDR [--role ROLE]`: the local bootstrap of the
first admin API user, written straight into the database of `-c CONFIG` (every other admin
command talks to the REST API).

The generated password is printed once, on stdout; only its scrypt hash is stored.
"""
from __future__ import annotations

import argparse
import getpass
import sys
import uuid

from acmeeh.admin import operators, security
from acmeeh.admin.problems import AdminProblem
from acmeeh.config import Settings
from acmeeh.store import admin as admin_store
from acmeeh.store import audit as audit_store
from acmeeh.store import db


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run(args: argparse.Namespace, settings: Settings) -> int:
    """`admin create-user` (needs -c CONFIG: it writes the database directly)."""
    return create_user(args, settings)


def create_user(args: argparse.Namespace, settings: Settings) -> int:
    try:
        operators.check_user_fields(args.username, args.email, args.role)
    except AdminProblem as problem:
        print(f"acmeeh: {problem.detail}", file=sys.stderr)
        return 1
    password = security.generate_password()
    with db.connect(settings.database) as conn, conn.transaction():
        row = admin_store.insert_user(conn, uuid.uuid4(), username=args.username,
                                      email=args.email, role=args.role,
                                      password_hash=security.hash_password(password))
        if row is None:
            print(f"acmeeh: username {args.username!r} is taken", file=sys.stderr)
            return 1
        audit_store.insert_audit(
            conn, uuid.uuid4(), actor=f"cli:{_os_user()}", actor_id=None, action="user.create",
            target=f"user:{row.id}", outcome="success",
            details={"username": row.username, "role": row.role, "via": "cli"}, remote_addr=None,
        )
    print(f"created {row.role} user {row.username} ({row.id})")
    print(f"password: {password}")
    print("The password is shown only this once.")
    return 0
