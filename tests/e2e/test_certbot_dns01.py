"""certbot --manual dns-01 with hooks that publish TXT records in the loopback DNS server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.certbot import Certbot, dns_names, openssl_verify
from support.server import RunningServer

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("cert_name", "domains"),
    [
        ("dns.example.test", ("dns.example.test",)),
        # RFC 8555 §7.1.3: a wildcard's authorization is for the base name, and both the
        # wildcard and the base name put their TXT value at the same _acme-challenge name.
        ("wild.example.test", ("*.wild.example.test", "wild.example.test")),
    ],
)
def test_dns01_manual_hooks(
    acme_server: RunningServer, tmp_path: Path, cert_name: str, domains: tuple[str, ...]
) -> None:
    dns = acme_server.dns
    record = f"_acme-challenge.{cert_name}"
    dns.clear_txt(record)
    certbot = Certbot(acme_server, tmp_path / "certbot")
    certbot.certonly_dns_manual(*domains, cert_name=cert_name)

    live = certbot.live(cert_name)
    openssl_verify(acme_server.root_cert_path, live / "cert.pem", untrusted=live / "chain.pem")
    assert dns_names(certbot.certificate(cert_name)) == set(domains)
    # the server asked our DNS server (challenges.dns01.resolvers) for the TXT record ...
    assert (record, "TXT") in dns.queries
    # ... and certbot's cleanup hook withdrew it again
    assert dns.txt(record) == []


@pytest.mark.parametrize(
    ("domain", "published", "problems"),
    [
        # nothing at _acme-challenge.<domain>: NXDOMAIN from the authoritative server
        ("missing.example.test", None, {"dns"}),
        # a TXT record that is not the key authorization digest (RFC 8555 §8.4)
        ("wrong.example.test", ["not-the-digest"], {"unauthorized", "incorrectResponse"}),
    ],
)
def test_dns01_bad_record_fails(
    acme_server: RunningServer,
    tmp_path: Path,
    domain: str,
    published: list[str] | None,
    problems: set[str],
) -> None:
    """No or a wrong TXT record: validation fails with an ACME error and no certificate."""
    record = f"_acme-challenge.{domain}"
    if published is None:
        acme_server.dns.clear_txt(record)
    else:
        acme_server.dns.set_txt(record, published)
    certbot = Certbot(acme_server, tmp_path / "certbot")
    result = certbot.run(
        "certonly",
        "--manual",
        "--preferred-challenges",
        "dns",
        "--manual-auth-hook",
        "true",
        "--manual-cleanup-hook",
        "true",
        "--cert-name",
        domain,
        "-d",
        domain,
        check=False,
    )
    assert any(certbot.failed_with(result, p) for p in problems), certbot.describe(result)
    assert not certbot.live(domain).exists()
