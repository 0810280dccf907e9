"""Pre-issuance lint (lint.enabled) on the real request path: finalize, in process, with
pkilint for real. A clean leaf is issued; a leaf with an error-level finding is not: the order
becomes invalid (serverInternal), the serial is revoked and OCSP says so, the leaf is kept
with its issuance intent, and the findings are counted."""
from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator

import pytest
from conftest import DIRECTORY, ready_in
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from prometheus_client import REGISTRY
from support.acme_client import AcmeClient, expect, make_csr
from support.wsgi import BASE_URL, in_process_session

from acmeeh import runtime
from acmeeh.app import AcmeehApp, create_app
from acmeeh.config.settings import LintSettings

SERVER_INTERNAL = "urn:ietf:params:acme:error:serverInternal"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def lint_app(web_app: AcmeehApp) -> Iterator[Callable[..., AcmeehApp]]:
    """lint_app(linter, ignore=()) → an app like web_app (same database and CA) linting leaves."""
    apps: list[AcmeehApp] = []

    def build(linter: str, ignore: tuple[str, ...] = ()) -> AcmeehApp:
        settings = dataclasses.replace(web_app.runtime.env.settings, lint=LintSettings(
            enabled=True, linter=linter, ignore=ignore))
        app = create_app(settings)
        runtime.start(app, loops=False)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.runtime.shutdown(timeout=1)


def ready_order(app: AcmeehApp) -> tuple[AcmeClient, dict, str, str]:
    """A new account's order, validated and ready: (client, order, url, name)."""
    client = AcmeClient(DIRECTORY, session=in_process_session(app, BASE_URL))
    ready = ready_in(client)
    return client, ready.order, ready.url, ready.name


def test_a_clean_leaf_is_linted_and_issued(lint_app) -> None:
    app = lint_app("pkix")
    linted = metric("acmeeh_lint_seconds_count")
    client, order, url, name = ready_order(app)
    expect(client.finalize(order, make_csr([name])[0]), 200)
    done = client.poll(url, timeout=10).json()
    assert done["status"] == "valid"
    assert metric("acmeeh_lint_seconds_count") == linted + 1


def test_a_leaf_with_an_error_finding_is_refused_and_its_serial_revoked(lint_app) -> None:
    # The CA/Browser Forum rules hold a .localhost name (and a leaf without
    # certificatePolicies) against the leaf: error-level findings.
    app = lint_app("cabf_serverauth")
    refusals = metric("acmeeh_lint_refusals_total")
    internal = metric("acmeeh_lint_findings_total", severity="ERROR", code="cabf.internal_domain_name")
    client, order, url, name = ready_order(app)
    answer = client.finalize(order, make_csr([name])[0])
    assert answer.status_code == 500
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["type"] == SERVER_INTERNAL and "Traceback" not in answer.text
    final = expect(client.post(url), 200).json()
    assert final["status"] == "invalid" and final["error"]["type"] == SERVER_INTERNAL
    assert "certificate" not in final
    assert metric("acmeeh_lint_refusals_total") == refusals + 1
    # once per place the name appears (subject CN, SAN, the status URLs' host acmeeh.test)
    assert metric("acmeeh_lint_findings_total", severity="ERROR",
                  code="cabf.internal_domain_name") >= internal + 1

    order_id = uuid.UUID(url.rsplit("/", 1)[1])
    with app.runtime.env.pool.connection() as conn:
        serial, der, abandoned, revoked, reason = conn.execute(
            "SELECT serial, der, abandoned_at, revoked_at, revocation_reason"
            " FROM issuance_intents WHERE order_id = %s", (order_id,)).fetchone()
        stored = conn.execute("SELECT count(*) FROM certificates WHERE serial = %s",
                              (serial,)).fetchone()[0]
    assert stored == 0 and abandoned is not None and revoked is not None and reason == 0
    leaf = x509.load_der_x509_certificate(der)  # kept, for the operator to look at
    assert leaf.serial_number == int(serial, 16)

    issuer = app.runtime.env.ca.issuer_certificate
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    status = in_process_session(app, BASE_URL).post(
        f"{BASE_URL}/ocsp", data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"})
    assert status.status_code == 200
    assert ocsp.load_der_ocsp_response(status.content).certificate_status == ocsp.OCSPCertStatus.REVOKED


def test_ignored_codes_neither_refuse_nor_count(lint_app) -> None:
    app = lint_app("pkix", ignore=("pkix.subject_key_identifier_method_1_identified",))
    ignored = metric("acmeeh_lint_findings_total", severity="INFO",
                     code="pkix.subject_key_identifier_method_1_identified")
    client, order, url, name = ready_order(app)
    expect(client.finalize(order, make_csr([name])[0]), 200)
    assert client.poll(url, timeout=10).json()["status"] == "valid"
    assert metric("acmeeh_lint_findings_total", severity="INFO",
                  code="pkix.subject_key_identifier_method_1_identified") == ignored
