"""The ACME API through the Flask test client: a whole issuance, and a table of refusals
(RFC 8555 §6.7: problem type and HTTP status, a fresh nonce on every answer)."""
from __future__ import annotations

import uuid

import pytest
from support.acme_client import ERROR_PREFIX, PEM_CHAIN, PROBLEM_JSON
from support.wsgi import BASE_URL, DIRECTORY

UNKNOWN = uuid.UUID("00000000-0000-4000-8000-000000000001")  # names no order


def test_issuance_end_to_end_in_process(issue) -> None:
    issued = issue()
    assert issued.chain.count("BEGIN CERTIFICATE") >= 2
    again = issued.client.download(issued.order["certificate"])
    assert again.headers["Content-Type"] == PEM_CHAIN and again.text == issued.chain


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "problem"), [
    ("POST", "/acme/new-order", b"{}", {"Content-Type": "application/jose+json"}, 400, "malformed"),
    ("POST", "/acme/new-order", b"not json", {"Content-Type": "application/jose+json"}, 400,
     "malformed"),
    ("POST", "/acme/new-account", b"{}", {"Content-Type": "application/json"}, 415, "malformed"),
    ("POST", f"/acme/order/{UNKNOWN}", b"{}", {"Content-Type": "application/jose+json"}, 400,
     "malformed"),
    ("GET", "/acme/new-order", b"", {}, 405, "malformed"),
    ("POST", "/acme/no-such-resource", b"{}", {"Content-Type": "application/jose+json"}, 404,
     "malformed"),
])
def test_refusals_are_problem_documents(web_app, method, path, body, headers, status, problem) -> None:
    answer = web_app.test_client().open(path, method=method, data=body, headers=headers,
                                        base_url=BASE_URL)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == PROBLEM_JSON
    assert answer.json["type"] == ERROR_PREFIX + problem
    assert "Traceback" not in answer.get_data(as_text=True)
    assert answer.headers.get("Replay-Nonce")
    assert f'<{DIRECTORY}>;rel="index"' in answer.headers.getlist("Link")


def test_directory_lists_every_resource(web_app) -> None:
    body = web_app.test_client().get("/acme/directory", base_url=BASE_URL).json
    assert {"newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"} <= set(body)
    assert all(url.startswith(BASE_URL) for key, url in body.items() if key != "meta")
