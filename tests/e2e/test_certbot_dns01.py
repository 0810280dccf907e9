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
def test_dns01_manual_hooks(acme_server: RunningServer, tmp_path: Path, cert_name: str,
                            domains: tuple[str, ...]) -> None:
    dns = acme_server.dns
    record = f"_acme-challenge.{cert_name}"
    dns.clear_txt(record)
    certbot = Certbot(acme_server, tmp_path / "certbot")
    certbot.certonly_dns_manual(*domains, cert_name=cert_name)

    live = certbot.live(cert_name)
    openssl_verify(acme_server.ca_cert_path, live / "cert.pem", untrusted=live / "chain.pem")
    assert dns_names(certbot.certificate(cert_name)) == set(domains)
    # the server asked our DNS server (challenges.dns01.resolvers) for the TXT record ...
    assert (record, "TXT") in dns.queries
    # ... and certbot's cleanup hook withdrew it again
    assert dns.txt(record) == []


def test_dns01_without_record_fails(acme_server: RunningServer, tmp_path: Path) -> None:
    """The auth hook publishes nothing: validation must fail with an ACME error, no certificate."""
    certbot = Certbot(acme_server, tmp_path / "certbot")
    noop = "true"
    result = certbot.run("certonly", "--manual", "--preferred-challenges", "dns",
                         "--manual-auth-hook", noop, "--manual-cleanup-hook", noop,
                         "--cert-name", "missing.example.test", "-d", "missing.example.test",
                         check=False)
    assert result.returncode != 0, certbot.describe(result)
    output = f"{result.stdout}\n{result.stderr}"
    assert "dns" in output.lower() or "unauthorized" in output.lower(), certbot.describe(result)
    assert not certbot.live("missing.example.test").exists()
