"""The HTTP access log (logging.access_log): one line per request with method, path, status,
bytes, duration, request id and client address; JSON with logging.format json; on by default,
written whatever logging.level is, and off with the switch."""
from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from flask import Flask

from acmeeh.logs import configure_logging

pytestmark = pytest.mark.usefixtures("restore_root")


def access_lines(stream: io.StringIO) -> list[dict]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "acmeeh.access"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/acme/directory", 200),
    ("HEAD", "/acme/new-nonce", 200),
    ("GET", "/no/such/route", 404),
    ("POST", "/acme/new-order", 415),  # not JOSE: a problem document
    ("PUT", "/acme/directory", 405),
])
def test_one_json_line_per_request(make_app: Callable[..., Flask], method: str, path: str,
                                   status: int) -> None:
    app = make_app({"logging": {"format": "json"}})
    stream = io.StringIO()
    configure_logging("WARNING", "json", stream=stream)  # the access log ignores the level
    resp = app.test_client().open(path, method=method, headers={"X-Request-ID": "acc-1"},
                                  environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert resp.status_code == status
    (line,) = access_lines(stream)
    assert line["level"] == "INFO"
    assert line["msg"] == f"{method} {path} {status}"
    assert (line["method"], line["path"], line["status"]) == (method, path, status)
    assert line["bytes"] == len(resp.get_data()) if method != "HEAD" else line["bytes"] >= 0
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 10_000
    assert line["request_id"] == "acc-1" == resp.headers["X-Request-ID"]
    assert line["remote_addr"] == "192.0.2.7"


def test_text_format_carries_the_same_fields(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    stream = io.StringIO()
    configure_logging("INFO", "text", stream=stream)
    app.test_client().get("/livez", headers={"X-Request-ID": "txt-2"})
    (line,) = [row for row in stream.getvalue().splitlines() if " acmeeh.access: " in row]
    assert " INFO acmeeh.access: GET /livez 200 " in line
    for field in ("method=GET", "path=/livez", "status=200", "request_id=txt-2",
                  "remote_addr=127.0.0.1", "bytes=", "duration_ms="):
        assert field in line


def test_a_path_cannot_forge_a_line(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    stream = io.StringIO()
    configure_logging("INFO", "text", stream=stream)
    app.test_client().get("/x%0A2026-01-01T00:00:00.000Z%20INFO%20forged")
    (line,) = [row for row in stream.getvalue().splitlines() if "acmeeh.access" in row]
    assert "GET /x%0A2026-01-01T00:00:00.000Z%20INFO%20forged 404" in line
    assert not any(row.startswith("2026-01-01") for row in stream.getvalue().splitlines())


def test_switched_off(make_app: Callable[..., Flask]) -> None:
    app = make_app({"logging": {"access_log": {"enabled": False}}})
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    assert app.test_client().get("/livez").status_code == 200
    assert access_lines(stream) == []
