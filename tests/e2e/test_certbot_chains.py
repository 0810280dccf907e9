"""certbot and lego --preferred-chain pick the alternate chain (RFC 8555 §7.4.2) through a
cross-signed issuing CA; openssl verifies each chain up to its own root."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.certbot import Certbot, load_pem_chain, openssl_verify
from support.crosssign import CROSS_ROOT_CN, cross_sign
from test_lego import challenge_args, run_lego

from acmeeh.issuance import generate_dev_ca

pytestmark = pytest.mark.e2e


def test_certbot_and_lego_preferred_chain(start_acme_server, lego_bin: str,
                                          tmp_path: Path) -> None:
    ca = generate_dev_ca(tmp_path / "ca")
    crossed = cross_sign(ca, tmp_path / "cross")
    server = start_acme_server(
        {"ca": {**ca.ca_settings(), "alternate_chains": [str(crossed.chain)]}}, workers=1)
    certbot = Certbot(server, tmp_path / "certbot")

    certbot.certonly_standalone("cross.chains.localhost",
                                extra=("--preferred-chain", CROSS_ROOT_CN))
    live = certbot.live("cross.chains.localhost")
    assert load_pem_chain(live / "chain.pem") == [crossed.cross]
    openssl_verify(crossed.root, live / "cert.pem", untrusted=live / "chain.pem")

    certbot.certonly_standalone("default.chains.localhost")  # no preference: the default chain
    live = certbot.live("default.chains.localhost")
    (issuing,) = load_pem_chain(live / "chain.pem")
    assert issuing.subject == crossed.cross.subject and issuing != crossed.cross
    openssl_verify(ca.root, live / "cert.pem", untrusted=live / "chain.pem")

    path = tmp_path / "lego"
    run_lego(lego_bin, server, path, *challenge_args(server, "http"), "-d", "lego.chains.localhost",
             "run", "--preferred-chain", CROSS_ROOT_CN)
    issuer = path / "certificates" / "lego.chains.localhost.issuer.crt"
    assert load_pem_chain(issuer) == [crossed.cross]
    openssl_verify(crossed.root, path / "certificates" / "lego.chains.localhost.crt",
                   untrusted=issuer)
