"""ACMEEH as the registration authority in front of Debian's Pebble (ca.backend acme_upstream):
certbot validates with ACMEEH (http-01 on loopback), ACMEEH orders from Pebble with its own
account bound by EAB, and certbot gets Pebble's chain; a revocation through ACMEEH reaches
Pebble; with Pebble gone, finalize answers that the upstream CA is unavailable, the failure is
counted, and the order is invalid with no certificate stored."""

from __future__ import annotations

import base64
import json
import ssl
import sys
import urllib.request
from pathlib import Path

import psycopg
import pytest
from support.certbot import Certbot, dns_names, openssl_verify
from support.database import ROOT
from support.dns import ZoneServer
from support.server import start_server
from support.tools import required_tool

pytestmark = pytest.mark.e2e

EAB_KID = "acmeeh-ra"
EAB_KEY = base64.urlsafe_b64encode(b"upstream binding key 0123456789ab").rstrip(b"=").decode()


def fetch(url: str, ca_file: str) -> bytes:
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        return response.read()


def test_certbot_through_acmeeh_to_pebble(tmp_path: Path, dns_server: ZoneServer) -> None:
    required_tool("pebble", "apt-get install pebble")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import pebble
    finally:
        sys.path.remove(str(ROOT / "bench"))
    upstream = pebble.start_pebble(tmp_path / "pebble", eab_keys={EAB_KID: EAB_KEY})
    account_key = tmp_path / "upstream" / "account.pem"
    server = None
    try:
        issuer = tmp_path / "pebble-intermediate.pem"
        issuer.write_bytes(fetch(f"{upstream.management_url}/intermediates/0", upstream.ca_file))
        server = start_server(tmp_path / "acmeeh", dns=dns_server, overrides={
            "ca": {"backend": "acme_upstream", "certificate": str(issuer), "key": None,
                   "chain": None,
                   "acme_upstream": {"directory_url": upstream.directory_url,
                                     "account_key": str(account_key),
                                     "ca_bundle": upstream.ca_file, "eab_kid": EAB_KID,
                                     "eab_hmac_key": "${ACMEEH_TEST_EAB_KEY}",
                                     "contact": ["ra@example.com"], "order_timeout_seconds": 10,
                                     "timeout_seconds": 3}},
            "crl": {"enabled": False}, "ocsp": {"enabled": False},
        }, env={"ACMEEH_TEST_EAB_KEY": EAB_KEY})
        certbot = Certbot(server, tmp_path / "certbot")
        certbot.certonly_standalone("ra.localhost")
        live = certbot.live("ra.localhost")
        root = tmp_path / "pebble-root.pem"
        root.write_bytes(fetch(f"{upstream.management_url}/roots/0", upstream.ca_file))
        openssl_verify(root, live / "fullchain.pem", untrusted=live / "chain.pem")
        leaf = certbot.certificate("ra.localhost")
        assert dns_names(leaf) == {"ra.localhost"}
        assert "Pebble Intermediate CA" in leaf.issuer.rfc4514_string()
        assert account_key.stat().st_mode & 0o777 == 0o600

        health = json.loads(urllib.request.urlopen(f"{server.base_url}/healthz", timeout=10).read())
        backend = health["checks"]["ca_backend"]
        assert backend["status"] == "ok" and backend["backend"] == "acme_upstream"
        assert "account" in backend, backend  # null in a worker that has not ordered yet

        # The revocation is recorded here and forwarded to Pebble (RFC 8555 §7.6).
        certbot.run("revoke", "--cert-path", str(live / "cert.pem"), "--no-delete-after-revoke",
                    with_account_flags=False)
        status = json.loads(fetch(f"{upstream.management_url}/cert-status-by-serial/"
                                  f"{leaf.serial_number:x}", upstream.ca_file))
        assert status["Status"] == "Revoked", status

        upstream.stop()  # the upstream CA goes away
        failed = certbot.certonly_standalone("down.localhost", check=False)
        assert failed.returncode != 0
        assert "the upstream CA is unavailable" in certbot.describe(failed), certbot.describe(failed)
        metrics = urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10).read().decode()
        assert any(line.startswith("acmeeh_upstream_errors_total{") and not line.endswith(" 0.0")
                   for line in metrics.splitlines()), metrics
        with psycopg.connect(server.database_url) as conn:
            row = conn.execute(
                "SELECT status, error->>'detail' FROM orders"
                " WHERE identifiers @> '[{\"value\": \"down.localhost\"}]'").fetchone()
            stored = conn.execute("SELECT count(*) FROM certificates"
                                  " WHERE 'down.localhost' = ANY(names)").fetchone()
        assert row is not None and row[0] == "invalid" and "unavailable" in row[1]
        assert stored == (0,)
    finally:
        if server is not None:
            server.stop()
        upstream.stop()
