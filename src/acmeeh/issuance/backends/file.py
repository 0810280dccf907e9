"""Backend `file`: the signing key is a PEM file on local disk, read once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from acmeeh.config.settings import CASettings
from acmeeh.issuance.backend import (
    BackendContext,
    CAError,
    check_chain,
    check_issuer,
    check_key_matches,
)
from acmeeh.issuance.keyfiles import read_certificate, read_certificates, read_private_key
from acmeeh.issuance.local import Clock, LocalCA


class LeafOptions(TypedDict):
    """The LocalCA arguments every backend that signs itself takes from settings.ca (the shape
    of each leaf comes with it, as its profile)."""

    backdate_seconds: int
    hash_name: str
    crl_url: str | None
    ocsp_url: str | None
    clock: Clock


def leaf_options(ca: CASettings, context: BackendContext) -> LeafOptions:
    return LeafOptions(
        backdate_seconds=ca.backdate_seconds, hash_name=ca.hash, crl_url=context.crl_url,
        ocsp_url=context.ocsp_url, clock=context.clock,
    )


def load(ca: CASettings, context: BackendContext) -> LocalCA:
    """Read and check the CA files named by `settings.ca`; return a ready backend.

    Raises CAError naming the setting and file: missing paths, unreadable files, a key file
    looser than 0600, a key that does not match the certificate, a certificate that is not a
    signing CA or is outside its validity, a ca.chain that does not link up.
    """
    if not ca.certificate or not ca.key:
        raise CAError("ca.certificate and ca.key are required")
    cert_path, key_path = Path(ca.certificate), Path(ca.key)
    certificate = read_certificate(cert_path, "ca.certificate")
    key = read_private_key(key_path, "ca.key", ca.key_password)
    chain = [] if not ca.chain else read_certificates(ca.chain, "ca.chain")
    check_issuer(certificate, f"ca.certificate: {cert_path}", context.clock())
    check_key_matches(certificate, key, f"ca.key: {key_path}", cert_path)
    if chain:
        check_chain(certificate, chain, f"ca.chain: {ca.chain}")
    backend = LocalCA(certificate=certificate, key=key, chain=chain, **leaf_options(ca, context))
    backend.check()
    return backend
