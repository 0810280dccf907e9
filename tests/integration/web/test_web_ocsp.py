"""OCSP in the web tier: the GET form answered beneath Flask (web/ocsp_get.py) gives what the
Flask route gives, with the request id, metrics and access log; and create_app wires
ocsp.listen_for_revocations (the responder's remembered states go to the runtime, whose
start, with the loops, starts the listener that keeps them true)."""
from __future__ import annotations

import base64
import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from prometheus_client import REGISTRY

from acmeeh.web.ocsp_get import ENDPOINT


def get_path(issued, app) -> str:
    leaf = x509.load_pem_x509_certificates(issued.chain.encode())[0]
    request = ocsp.OCSPRequestBuilder().add_certificate(
        leaf, app.runtime.env.ca.issuer_certificate, hashes.SHA1()).build()
    return "/ocsp/" + base64.b64encode(request.public_bytes(serialization.Encoding.DER)).decode()


def requests_counted(status: str = "200") -> float:
    return REGISTRY.get_sample_value("acmeeh_http_requests_total", {
        "endpoint": ENDPOINT, "method": "GET", "status": status}) or 0.0


def test_get_beneath_flask_answers_as_the_flask_route(web_app, issue, caplog) -> None:
    path = get_path(issue(), web_app)
    client = web_app.test_client()
    before = requests_counted()
    with caplog.at_level(logging.INFO, logger="acmeeh.access"):
        fast = client.get(path, headers={"X-Request-ID": "ocsp-fast-1"})
    # A conditional request that matches nothing goes through the Flask route.
    routed = client.get(path, headers={"If-None-Match": '"other"', "X-Request-ID": "routed"})
    assert fast.status_code == routed.status_code == 200
    assert fast.data == routed.data  # the same cached, signed answer
    assert ocsp.load_der_ocsp_response(fast.data).certificate_status == ocsp.OCSPCertStatus.GOOD
    # werkzeug's conditional rules add Date; the server in front (gunicorn) sends one anyway.
    assert set(fast.headers.keys()) == set(routed.headers.keys()) - {"Date"}
    for name in ("Content-Type", "Cache-Control", "Last-Modified", "Expires", "ETag",
                 "Content-Length"):
        assert fast.headers[name] == routed.headers[name], name
    assert fast.headers["X-Request-ID"] == "ocsp-fast-1"
    assert requests_counted() == before + 2  # one series for both paths
    lines = [r for r in caplog.records if r.name == "acmeeh.access" and r.request_id == "ocsp-fast-1"]
    assert len(lines) == 1 and lines[0].status == 200 and lines[0].path == path


def test_get_beneath_flask_edges(web_app, issue) -> None:
    path = get_path(issue(), web_app)
    client = web_app.test_client()
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304  # Flask's rules
    bad = client.get("/ocsp/%%%not-base64")
    assert bad.status_code == 200
    assert ocsp.load_der_ocsp_response(bad.data).response_status == \
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert bad.headers["Cache-Control"] == "no-store"
    assert client.get("/ocsp/").status_code == 405  # only POST there: Flask answers
    assert len(client.get(path, headers={"X-Request-ID": "bad id!"})
               .headers["X-Request-ID"]) == 32  # a malformed id is replaced
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""


@pytest.mark.parametrize("overrides", [None, {"ocsp": {"listen_for_revocations": True}}])
def test_listening_is_wired_by_default(web_apps, overrides) -> None:
    app = web_apps(overrides)
    assert app.ocsp is not None and app.runtime.ocsp_states is app.ocsp.states
    assert app.runtime.listener is None  # started without the loops: nothing listens here
    assert not app.ocsp.states.live  # so every state is read from the database


def test_off_reads_every_state_from_the_database(web_apps) -> None:
    app = web_apps({"ocsp": {"listen_for_revocations": False}})
    assert app.ocsp is not None and app.runtime.ocsp_states is None


def test_no_responder_no_listener_and_nothing_beneath_flask(web_apps) -> None:
    app = web_apps({"ocsp": {"enabled": False}})
    assert app.runtime.ocsp_states is None
    assert app.test_client().get("/ocsp/MAo=").status_code == 404
