"""What handlers reach through the Flask app: the authority env and the URL builder."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..authority.env import Env
from .urls import Urls


@dataclass(frozen=True)
class WebContext:
    env: Env
    urls: Urls


def ctx() -> WebContext:
    return current_app.extensions["acmeeh"]
