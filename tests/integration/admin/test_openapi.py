"""The OpenAPI document: valid OpenAPI 3.1 and in step with the routes (served in process),
and true of the running API (schemathesis fuzzes every operation of a gunicorn server: no 500s,
documented statuses, conforming bodies)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from admin_support import AdminClient, ServedApp, admin_overrides, create_user
from flask import Flask
from openapi_spec_validator import validate
from support.acme_client import AcmeClient, expect

from acmeeh.admin.routes import admin_blueprint

FUZZ_TIMEOUT = 240  # bounded; about a minute on a quiet 2-core machine
# negative_data_rejection: 414 is gunicorn refusing an over-long request line (limit 4094),
# a rejection like any other.
SCHEMATHESIS_CONFIG = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 409, 413, 414, 415]
"""
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
          "unsupported_method,use_after_free,ensure_resource_availability")


def served_document(server: ServedApp) -> dict:
    resp = AdminClient(server).get("/openapi.json")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    return resp.json()


def test_document_is_valid_openapi_31(inproc_app: ServedApp) -> None:
    doc = served_document(inproc_app)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": f"{inproc_app.base_url}/api", "description": "this server"}]
    assert doc["components"]["parameters"]["Limit"]["schema"]["maximum"] == 50  # max_page_size


def _routes() -> set[tuple[str, str]]:
    app = Flask("routes")
    app.register_blueprint(admin_blueprint(), url_prefix="/api")
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api"))
        found |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_route_is_documented_and_every_operation_exists(inproc_app: ServedApp) -> None:
    doc = served_document(inproc_app)
    documented = {(m.upper(), path) for path, item in doc["paths"].items()
                  for m in item if m != "parameters"}
    assert _routes() == documented


def test_every_operation_documents_auth_and_errors(inproc_app: ServedApp) -> None:
    doc = served_document(inproc_app)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            public = op.get("security") == []
            assert public or "401" in op["responses"], (method, path)
            if method != "get" and not public and path != "/auth/logout":  # any role logs out
                assert "403" in op["responses"], (method, path)
            assert op.get("operationId") and op.get("summary"), (method, path)


@pytest.mark.e2e
def test_schemathesis_fuzz(start_acme_server, tmp_path: Path) -> None:
    """Every operation fuzzed (positive and negative data, stateful links) in well under 60 s.

    Logout, password reset and user updates are left out: they revoke the fuzzer's own token
    (they have their own tests)."""
    server = start_acme_server(admin_overrides(max_page_size=20), workers=2)
    token = AdminClient(server).as_user("root", create_user(server, "root")).token
    acme = AcmeClient(server.directory_url)  # some ACME objects for the searches to return
    expect(acme.new_account(contact=["mailto:fuzz@example.com"]), 201)
    expect(acme.new_order(["fuzz.localhost"]), 201)
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    # One worker: CPython 3.11's AST validator keeps its recursion depth per process, so
    # hypothesis compiling strategies on two threads at once can raise "SystemError: AST
    # constructor recursion depth mismatch" (python/cpython#106905).
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "run",
        f"{server.base_url}/api/openapi.json", "-H", f"Authorization: Bearer {token}",
        "--checks", CHECKS, "--max-examples", "10", "--no-shrink", "--workers", "1",
        "--request-timeout", "10",
        "--exclude-path", "/auth/logout",
        "--exclude-operation-id", "updateUser", "--exclude-operation-id", "resetPassword",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False, cwd=tmp_path)
    output = done.stdout[-12000:] + done.stderr[-4000:]
    assert done.returncode == 0, output
    assert "Traceback" not in server.log_tail(200000), server.log_tail(6000)
