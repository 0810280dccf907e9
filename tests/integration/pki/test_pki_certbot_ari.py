"""certbot (5.x asks renewalInfo before `renew`, RFC 9773 §4.3) against a running server:
not due while the suggested window is ahead; due as soon as an operator moves the window into
the past, or the certificate is revoked (its window is then in the past)."""
from __future__ import annotations

import configparser
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.certbot import Certbot

from acmeeh.authority import renewal

pytestmark = pytest.mark.e2e


def renew(certbot: Certbot, cert_name: str):
    return certbot.run(
        "renew", "--cert-name", cert_name, "--no-random-sleep-on-renew",
        "--http-01-port", str(certbot.server.http01_port), "--http-01-address", "127.0.0.1",
        with_account_flags=False,
    )


def forget_retry_after(certbot: Certbot, cert_name: str) -> str | None:
    """Drop certbot's remembered ARI Retry-After (as if it had passed); return what it was."""
    path = certbot.config_dir / "renewal" / f"{cert_name}.conf"
    text = path.read_text()
    found = re.search(r"ari_retry_after\s*=\s*(\S+)", text)
    path.write_text(re.sub(r"\[acme_renewal_info\][^\[]*", "", text))
    return found.group(1) if found else None


def output(result) -> str:
    return result.stdout + result.stderr


def test_certbot_renews_when_ari_says_so(pki_server, server_env, tmp_path: Path) -> None:
    name = f"ari-{uuid.uuid4().hex[:8]}.localhost"
    certbot = Certbot(pki_server, tmp_path / "certbot")
    certbot.certonly_standalone(name)
    first = certbot.certificate(name)

    # The window starts at 2/3 of 90 days: certbot asks ARI and leaves the certificate alone.
    result = renew(certbot, name)
    assert "not yet due" in output(result), certbot.describe(result)
    assert certbot.certificate(name) == first
    remembered = forget_retry_after(certbot, name)
    assert remembered is not None, "certbot did not record the Retry-After of renewalInfo"
    wait = datetime.fromisoformat(remembered) - datetime.now()
    assert timedelta(seconds=60) < wait <= timedelta(seconds=125)  # renewal_info.retry_after_seconds

    # An operator moves the window into the past (RFC 9773 §4.2): certbot renews at once.
    start = datetime.now(UTC) - timedelta(hours=2)
    serial = format(first.serial_number, "x")
    assert renewal.set_windows(server_env, [serial], start=start, end=start + timedelta(hours=1)) == 1
    result = renew(certbot, name)
    second = certbot.certificate(name)
    assert second.serial_number != first.serial_number, certbot.describe(result)

    # A revoked certificate's window is in the past: certbot renews it too.
    forget_retry_after(certbot, name)
    live = certbot.live(name) / "cert.pem"
    certbot.run("revoke", "--cert-path", str(live), "--no-delete-after-revoke",
                with_account_flags=False)
    result = renew(certbot, name)
    third = certbot.certificate(name)
    assert third.serial_number != second.serial_number, certbot.describe(result)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string("[top]\n" + (certbot.config_dir / "renewal" / f"{name}.conf").read_text())
    assert conf.has_section("acme_renewal_info")
