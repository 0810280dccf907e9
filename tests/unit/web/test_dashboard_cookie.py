"""The dashboard's session cookie: Secure exactly when the dashboard is reached over https
(directly or as server.external_url says), always HttpOnly, SameSite=Strict, its own path."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask, Response

from acmeeh.admin.ui import session


@pytest.mark.parametrize(("external", "request_base", "secure"), [
    ("https://ca.example", "http://127.0.0.1/", True),   # TLS ends at a proxy
    ("http://127.0.0.1:8443", "https://127.0.0.1/", True),  # TLS ends here
    ("http://127.0.0.1:8443", "http://127.0.0.1/", False),
])
def test_cookie_flags(external: str, request_base: str, secure: bool) -> None:
    app = Flask("cookie")
    settings = SimpleNamespace(server=SimpleNamespace(external_url=external))
    app.admin = SimpleNamespace(env=SimpleNamespace(settings=settings))  # type: ignore[attr-defined]
    app.dashboard = session.DashboardContext("/admin", {}, None)  # type: ignore[attr-defined]
    with app.test_request_context("/admin/login", base_url=request_base):
        resp = Response()
        session.set_cookie(resp, session.COOKIE, "token", 60)
    header = resp.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/admin" in header
    assert ("Secure" in header) is secure
