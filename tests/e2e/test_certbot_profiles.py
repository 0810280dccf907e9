"""certbot's --preferred-profile and --required-profile (the ACME profiles extension) against
the built-in profiles of a running server: tlsserver (the default), tlsclient, shortlived."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from support.certbot import Certbot, openssl_verify
from support.server import RunningServer

pytestmark = pytest.mark.e2e

SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _lifetime(cert: x509.Certificate) -> dt.timedelta:
    return cert.not_valid_after_utc - cert.not_valid_before_utc


@pytest.mark.parametrize(
    ("flag", "profile", "got", "eku", "days"),
    [
        ("--preferred-profile", "shortlived", "shortlived", [SERVER], 7),
        ("--required-profile", "tlsclient", "tlsclient", [CLIENT], 90),
        # Not offered in meta.profiles: certbot names no profile and gets the default.
        ("--preferred-profile", "platinum", "tlsserver", [SERVER], 90),
    ],
    ids=["preferred-shortlived", "required-tlsclient", "preferred-unknown"],
)
def test_certbot_gets_the_profile(acme_server: RunningServer, tmp_path: Path, flag: str,
                                  profile: str, got: str, eku: list, days: int) -> None:
    certbot = Certbot(acme_server, tmp_path / "certbot")
    domain = f"{profile}.profiles.localhost"
    certbot.certonly_standalone(domain, extra=(flag, profile))
    cert = certbot.certificate(domain)
    assert _eku(cert) == eku
    assert _lifetime(cert) == dt.timedelta(days=days)
    # certbot's log holds the order object the server answered, with the profile echoed.
    assert f'"profile": "{got}"' in certbot.log_text(), certbot.log_text()[-3000:]
    live = certbot.live(domain)
    purpose = "sslclient" if eku == [CLIENT] else "sslserver"
    openssl_verify(acme_server.root_cert_path, live / "cert.pem", untrusted=live / "chain.pem",
                   purpose=purpose)


def test_certbot_required_unknown_profile_is_refused(acme_server: RunningServer,
                                                     tmp_path: Path) -> None:
    certbot = Certbot(acme_server, tmp_path / "certbot")
    refused = certbot.certonly_standalone("gold.profiles.localhost", check=False,
                                          extra=("--required-profile", "gold"))
    assert certbot.failed_with(refused, "invalidProfile"), certbot.describe(refused)
    assert not certbot.live("gold.profiles.localhost").exists()
