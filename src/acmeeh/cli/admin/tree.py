"""Building blocks of the `admin` command tree: the options every command shares, paging,
and Tree/Group, which give each leaf its handler and the API operations (OpenAPI
operationIds) it calls."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

Handler = Callable[[Any], int]
S = argparse.SUPPRESS


def common_options() -> argparse.ArgumentParser:
    """Options every admin command takes, before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("API connection and output")
    group.add_argument("--url", default=S, metavar="URL",
                       help="admin API base URL, e.g. https://acme.example.com/api "
                       "(default: $ACMEEH_ADMIN_URL, the logged-in session's, or -c CONFIG's)")
    group.add_argument("--session", default=S, metavar="FILE",
                       help="login session file (default: $ACMEEH_ADMIN_SESSION or "
                       "~/.config/acmeeh/admin-session.json)")
    group.add_argument("--cacert", default=S, metavar="PEM",
                       help="CA certificates to trust for https (default: $ACMEEH_ADMIN_CACERT "
                       "or the system store)")
    group.add_argument("--timeout", default=S, type=float, metavar="SECONDS",
                       help="HTTP timeout (default 30)")
    group.add_argument("--json", default=S, action="store_true",
                       help="print the API's JSON instead of a table")
    return common


def paging_options() -> argparse.ArgumentParser:
    paging = argparse.ArgumentParser(add_help=False)
    group = paging.add_argument_group("paging")
    group.add_argument("--limit", type=int, metavar="N", help="page size (server maximum by default)")
    group.add_argument("--cursor", metavar="CURSOR", help="continue after a previous page")
    group.add_argument("--all", action="store_true", help="follow every page")
    return paging


class Tree:
    """Adds groups and commands to the `admin` subparsers, each with the common options."""

    def __init__(self, actions: Any) -> None:
        self.actions = actions
        self.common = common_options()
        self.paging = paging_options()

    def command(self, name: str, handler: Handler, ops: Sequence[str], help: str, *,
                paged: bool = False, sub: Any = None,
                token: bool = True) -> argparse.ArgumentParser:
        parents = [self.common] + ([self.paging] if paged else [])
        parser = (sub or self.actions).add_parser(name, help=help, description=help,
                                                  parents=parents)
        parser.set_defaults(handler=handler, operations=tuple(ops), needs_token=token)
        return parser

    def group(self, name: str, help: str) -> Group:
        parser = self.actions.add_parser(name, help=help, description=help)
        return Group(self, parser.add_subparsers(dest="admin_action", metavar="action",
                                                 required=True))


class Group:
    def __init__(self, tree: Tree, sub: Any) -> None:
        self.tree, self.sub = tree, sub

    def command(self, name: str, handler: Handler, ops: Sequence[str], help: str, *,
                paged: bool = False) -> argparse.ArgumentParser:
        return self.tree.command(name, handler, ops, help, paged=paged, sub=self.sub)
