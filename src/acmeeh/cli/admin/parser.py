"""The `admin` command tree. Every leaf names the API operations (OpenAPI operationIds) it
calls, so a test can check that each operation of the API has a command."""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from . import cmd_acme, cmd_auth, cmd_certs, cmd_intents, cmd_keys, cmd_ops, cmd_webhooks
from .tree import Tree, common_options

GROUPS = (cmd_auth, cmd_acme, cmd_certs, cmd_intents, cmd_keys, cmd_ops, cmd_webhooks)


def add_admin(commands: Any) -> argparse.ArgumentParser:
    """The `admin` command: the local bootstrap `create-user` and the API commands."""
    admin = commands.add_parser(
        "admin", help="run the CA through the admin REST API (works from any host); "
        "create-user bootstraps the first user locally",
        description="Admin commands. Every command except create-user talks HTTP to the admin "
        "API: log in once with `admin login --url https://HOST/api`, or set ACMEEH_ADMIN_URL "
        "and ACMEEH_ADMIN_TOKEN. Exit codes: 0 ok, 1 server error, 2 usage, 3 not logged in, "
        "4 forbidden, 5 not found, 6 conflict, 7 invalid request, 8 server unreachable.",
        parents=[common_options()])
    actions = admin.add_subparsers(dest="admin_command", metavar="command", required=True)
    create_user = actions.add_parser(
        "create-user", help="create an admin API user in the database of -c CONFIG and print "
        "its generated password once (the local bootstrap)")
    create_user.add_argument("--username", required=True, help="login name")
    create_user.add_argument("--email", required=True, help="e-mail address")
    create_user.add_argument("--role", choices=("admin", "auditor"), default="admin",
                             help="admin (everything, the default) or auditor (read only)")
    tree = Tree(actions)
    for module in GROUPS:
        module.register(tree)
    return admin


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
           ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(command path, parser) of every leaf command under `parser`."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for action in subs:
        for name, child in action.choices.items():
            yield from leaves(child, (*path, name))
