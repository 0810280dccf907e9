"""What handlers reach through the Flask app: the authority env and the URL builder."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, cast

from flask import current_app

from ..authority.env import Env
from .keycache import KeyCache
from .urls import Urls


@dataclass(frozen=True)
class WebContext:
    env: Env
    urls: Urls
    keys: KeyCache = field(default_factory=KeyCache)


class WebHost(Protocol):
    """An application that carries a WebContext (acmeeh.app.AcmeehApp)."""

    web: WebContext


def ctx() -> WebContext:
    """The WebContext of the application serving this request."""
    return cast(WebHost, current_app).web
