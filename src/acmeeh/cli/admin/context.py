"""What every admin command gets: the API client (URL and token resolved), the parsed
arguments, and helpers that print one object or a list the way people or scripts want it.

URL: --url, else $ACMEEH_ADMIN_URL, else the URL of the saved login session, else
server.external_url + admin_api.base_path of `-c CONFIG`.
Token: $ACMEEH_ADMIN_TOKEN, else the saved session's (only when it is for the same URL).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acmeeh.config import load_settings

from . import output, session
from .client import EXIT_AUTH, EXIT_OK, EXIT_USAGE, CliError, Client
from .output import Column

MAX_PAGES = 1000  # --all follows at most this many pages


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _url_from_config(path: str) -> str:
    settings = load_settings(path)
    return settings.server.external_url.rstrip("/") + settings.admin_api.base_path


@dataclass
class Context:
    api: Client
    args: argparse.Namespace
    session_path: Path
    json: bool = False

    def opt(self, name: str, default: Any = None) -> Any:
        return getattr(self.args, name, default)

    def show(self, data: Any, columns: Sequence[Column]) -> int:
        """One object: key/value lines, or the JSON with --json."""
        if self.json:
            output.as_json(data)
        else:
            output.fields(data, columns)
        return EXIT_OK

    def done(self, what: str, value: str, text: str) -> int:
        """A change that answers nothing: {what: value} with --json, else `text`."""
        if self.json:
            output.as_json({what: value})
        else:
            print(text)
        return EXIT_OK

    def listing(self, op: str, query: Mapping[str, Any], columns: Sequence[Column],
                params: Mapping[str, Any] | None = None) -> int:
        """One page (or every page with --all) of a list operation."""
        q = {**query, "limit": self.opt("limit"), "cursor": self.opt("cursor")}
        items: list[Any] = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = self.api.call(op, params=params, query=q)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not (self.opt("all") and cursor):
                break
            q["cursor"] = cursor
        if self.json:
            output.as_json({"items": items, "next_cursor": cursor})
        else:
            output.table(items, columns)
            if cursor:
                output.note(f"more results: add --cursor {cursor} (or --all)")
        return EXIT_OK


def shows(op: str, columns: Sequence[Column], **params: str) -> Callable[[Context], int]:
    """A handler that calls `op` with each path parameter set to the command argument its
    value names (`entry_id="id"`), and shows the answer."""
    def handler(ctx: Context) -> int:
        got = ctx.api.call(op, params={name: ctx.opt(arg) for name, arg in params.items()})
        return ctx.show(got, columns)

    return handler


def removes(op: str, verb: str, label: str, **params: str) -> Callable[[Context], int]:
    """A handler that calls `op` (which answers nothing) with its one path parameter set as
    in `shows`, then says `verb`, `label` and the argument (with --json: {verb: argument})."""
    ((name, arg),) = params.items()

    def handler(ctx: Context) -> int:
        value = ctx.opt(arg)
        ctx.api.call(op, params={name: value})
        return ctx.done(verb, value, f"{verb} {label}{value}")

    return handler


def build(args: argparse.Namespace, *, needs_token: bool = True) -> Context:
    """Resolve URL and token (see the module docstring); CliError when they cannot be."""
    path = Path(args.session) if getattr(args, "session", None) else session.default_path()
    url = getattr(args, "url", None) or os.environ.get("ACMEEH_ADMIN_URL")
    token = os.environ.get("ACMEEH_ADMIN_TOKEN") or None
    saved = session.load(path) if (url is None or (token is None and needs_token)) else None
    if url is None and saved is not None:
        url = saved.url
    if url is None and getattr(args, "config", None):
        url = _url_from_config(args.config)
    if url is None:
        raise CliError("no API URL: give --url (e.g. https://acme.example.com/api), set "
                       "ACMEEH_ADMIN_URL, or log in first", EXIT_USAGE)
    if not url.startswith(("https://", "http://")):
        raise CliError(f"--url {url!r}: an http:// or https:// URL", EXIT_USAGE)
    if token is None and needs_token and saved is not None and _same_url(saved.url, url):
        if saved.expired():
            raise CliError(f"the session of {saved.username} expired; run `acmeeh admin login`",
                           EXIT_AUTH)
        token = saved.token
    cafile = getattr(args, "cacert", None) or os.environ.get("ACMEEH_ADMIN_CACERT") or None
    api = Client(url, token, cafile=cafile, timeout=float(getattr(args, "timeout", None) or 30))
    return Context(api=api, args=args, session_path=path, json=bool(getattr(args, "json", False)))
