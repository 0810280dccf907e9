"""Prometheus sees a certbot run under a multi-worker gunicorn (issue 3, metrics)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from support.certbot import Certbot

pytestmark = pytest.mark.e2e


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    assert match, f"{name} missing from the scrape"
    return float(match.group(1))


def test_scrape_counts_a_certbot_issue_and_renewal(start_acme_server, tmp_path: Path) -> None:
    server = start_acme_server(workers=3)
    certbot = Certbot(server, tmp_path / "certbot", email="metrics@example.test")
    certbot.certonly_standalone("metrics.localhost", cert_name="metrics")
    certbot.run("renew", "--force-renewal", "--cert-name", "metrics", "--no-random-sleep-on-renew",
                "--http-01-port", str(server.http01_port), "--http-01-address", "127.0.0.1",
                with_account_flags=False)

    # Whichever of the three workers answers, the scrape sums every worker's samples.
    for _ in range(6):
        text = requests.get(f"{server.base_url}/metrics", timeout=10).text
        assert _sample(text, "acmeeh_accounts_created_total") == 1
        assert _sample(text, "acmeeh_orders_created_total") == 2
        assert _sample(text, "acmeeh_certificates_issued_total") == 2
        finalizes = re.findall(r'^acmeeh_http_requests_total\{endpoint="acme.finalize",'
                               r'method="POST",status="200"\} ([0-9.]+)$', text, re.M)
        assert finalizes and float(finalizes[0]) == 2
