"""A requests transport that serves requests from a WSGI app in the same process.

`in_process_session(app, base_url)` returns a requests.Session whose requests to `base_url`
go through Flask's test client instead of a socket, so AcmeClient (and anything else built on
requests) drives an app built by create_app without gunicorn: the web tier's tests run in
milliseconds per request. Only what a test cannot do without a real server (TLS, proxies,
signals, several processes) needs tests/e2e or support.server.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

# The external URL of apps served in process: a name that resolves nowhere (RFC 6761 §6.2
# reserves .test), so a request that escaped the adapter could never reach a real server.
BASE_URL = "http://acmeeh.test"
DIRECTORY = f"{BASE_URL}/acme/directory"


class WSGIAdapter(BaseAdapter):
    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.client = app.test_client()

    def send(self, request: requests.PreparedRequest, stream: bool = False,  # noqa: ARG002
             timeout: Any = None, verify: Any = True, cert: Any = None,  # noqa: ARG002
             proxies: Mapping[str, str] | None = None) -> requests.Response:  # noqa: ARG002
        url = urlsplit(request.url or "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.client.open(
            url.path, method=request.method or "GET", query_string=url.query, data=body or b"",
            headers=dict(request.headers), base_url=f"{url.scheme}://{url.netloc}",
        )
        response = requests.Response()
        response.status_code = answer.status_code
        # Repeated headers (Link) joined with ", " as an HTTP client reading the wire does.
        response.headers = CaseInsensitiveDict(
            {name: ", ".join(answer.headers.getlist(name)) for name in answer.headers.keys()})
        response._content = answer.get_data()
        response.url = request.url or ""
        response.request = request
        response.reason = answer.status.partition(" ")[2]
        response.encoding = (answer.mimetype_params.get("charset")
                             if (answer.mimetype or "").startswith("text/") else None)
        return response

    def close(self) -> None:
        pass


def in_process_session(app: Flask, base_url: str) -> requests.Session:
    """A session whose requests under `base_url` are served by `app` in this process."""
    session = requests.Session()
    session.mount(base_url, WSGIAdapter(app))
    return session
