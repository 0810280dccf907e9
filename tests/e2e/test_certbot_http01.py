"""certbot (real client, standalone http-01 listener) against a running ACMEEH server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from support.certbot import Certbot, dns_names, load_pem_chain, openssl_verify
from support.server import RunningServer

pytestmark = pytest.mark.e2e


def _spki(key_or_cert) -> bytes:
    public = key_or_cert.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _output(result) -> str:
    return f"{result.stdout}\n{result.stderr}"


def test_issue_single_name_verifies_against_ca(acme_server: RunningServer, tmp_path: Path) -> None:
    certbot = Certbot(acme_server, tmp_path / "certbot")
    certbot.certonly_standalone("a.localhost")

    live = certbot.live("a.localhost")
    openssl_verify(acme_server.root_cert_path, live / "cert.pem", untrusted=live / "chain.pem")
    openssl_verify(acme_server.root_cert_path, live / "fullchain.pem", untrusted=live / "chain.pem")
    cert = certbot.certificate("a.localhost")
    assert dns_names(cert) == {"a.localhost"}
    # fullchain = leaf followed by the chain; the leaf carries the key certbot generated
    assert load_pem_chain(live / "fullchain.pem")[0] == cert
    key = serialization.load_pem_private_key((live / "privkey.pem").read_bytes(), password=None)
    assert _spki(key) == _spki(cert)
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=89) < lifetime <= dt.timedelta(days=91)


def test_multi_name_renew_and_revoke(acme_server: RunningServer, tmp_path: Path) -> None:
    names = ("m1.localhost", "m2.localhost", "m3.localhost")
    certbot = Certbot(acme_server, tmp_path / "certbot", email="multi@example.test")
    certbot.certonly_standalone(*names, cert_name="multi")
    first = certbot.certificate("multi")
    assert dns_names(first) == set(names)

    # Renewal: a new order, a new key (certbot does not reuse keys by default), a new serial.
    certbot.run(
        "renew",
        "--force-renewal",
        "--cert-name",
        "multi",
        "--no-random-sleep-on-renew",
        "--http-01-port",
        str(acme_server.http01_port),
        "--http-01-address",
        "127.0.0.1",
        with_account_flags=False,
    )
    second = certbot.certificate("multi")
    assert second.serial_number != first.serial_number
    assert dns_names(second) == set(names)
    live = certbot.live("multi")
    openssl_verify(acme_server.root_cert_path, live / "cert.pem", untrusted=live / "chain.pem")
    archive = certbot.archive("multi")
    assert load_pem_chain(archive / "cert1.pem")[0] == first

    # RFC 8555 §7.6: revocation signed with the account key that ordered the certificate.
    revoke = ("revoke", "--cert-path", str(live / "cert.pem"), "--no-delete-after-revoke")
    certbot.run(*revoke, with_account_flags=False)
    again = certbot.run(*revoke, with_account_flags=False, check=False)
    assert certbot.failed_with(again, "alreadyRevoked"), certbot.describe(again)

    # RFC 8555 §7.6: revocation signed with the certificate's own key (no account at all:
    # a fresh certbot config dir, so certbot cannot fall back to the account key).
    stranger = Certbot(acme_server, tmp_path / "stranger")
    by_key = (
        "revoke",
        "--cert-path",
        str(archive / "cert1.pem"),
        "--key-path",
        str(archive / "privkey1.pem"),
        "--reason",
        "keycompromise",
        "--no-delete-after-revoke",
    )
    stranger.run(*by_key, with_account_flags=False)
    assert not (stranger.config_dir / "accounts").exists() or not any(
        (stranger.config_dir / "accounts").rglob("regr.json")
    )
    again = stranger.run(*by_key, with_account_flags=False, check=False)
    assert stranger.failed_with(again, "alreadyRevoked"), stranger.describe(again)


def test_unregistered_account_cannot_order(acme_server: RunningServer, tmp_path: Path) -> None:
    certbot = Certbot(acme_server, tmp_path / "certbot")
    certbot.certonly_standalone("u1.localhost")
    backup = tmp_path / "accounts-backup"
    certbot.backup_accounts(backup)

    result = certbot.run("unregister", with_account_flags=False)
    assert "deactivated" in _output(result).lower(), certbot.describe(result)

    # certbot deletes a deactivated account locally; put its key back to try to use it.
    certbot.restore_accounts(backup)
    refused = certbot.certonly_standalone("u2.localhost", check=False)
    # RFC 8555 §7.3.6: requests signed by a deactivated account are refused as unauthorized.
    assert certbot.failed_with(refused, "unauthorized"), certbot.describe(refused)
    assert not certbot.live("u2.localhost").exists()


def test_dev_server_with_custom_config(start_acme_server, tmp_path: Path) -> None:
    """`python -m acmeeh -c CONFIG --dev` (Flask dev server) honours the config: 7-day certs."""
    server = start_acme_server({"ca": {"validity_days": 7}}, workers=1, dev=True)
    certbot = Certbot(server, tmp_path / "certbot")
    certbot.certonly_standalone("dev.localhost")

    live = certbot.live("dev.localhost")
    openssl_verify(server.root_cert_path, live / "cert.pem", untrusted=live / "chain.pem")
    cert = certbot.certificate("dev.localhost")
    assert dns_names(cert) == {"dev.localhost"}
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=7) <= lifetime <= dt.timedelta(days=7, minutes=5)
