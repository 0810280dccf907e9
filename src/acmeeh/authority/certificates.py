"""Certificates: download (RFC 8555 §7.4.2) in the formats Accept may ask for, with alternate
chains, and the issuer certificate behind rel="up"."""
from __future__ import annotations

from dataclasses import dataclass

from ..issuance import chains, formats
from ..issuance.profiles import to_pem
from ..protocol import problems
from ..store.records import AccountRow, CertificateRow
from .env import Env


# The formats a certificate can be downloaded in, the default first (web/certs.py negotiates).
MEDIA_TYPES = formats.MEDIA_TYPES


@dataclass(frozen=True)
class Download:
    """A certificate as served: the leaf then its intermediates (never the root), in the
    format asked for."""

    body: bytes
    content_type: str
    # True when the chain holds the leaf alone: the client then needs rel="up" to reach the
    # issuer (a client such as mod_md refuses a one-certificate chain with no way up).
    needs_up: bool
    # How many alternate chains fit this leaf: served at alternate 1..alternates.
    alternates: int


def _owned(account: AccountRow, cert: CertificateRow | None) -> CertificateRow:
    """The account's certificate; another account's is indistinguishable from none (404)."""
    if cert is None or cert.account_id != account.id:
        raise problems.not_found()
    return cert


def download(env: Env, account: AccountRow, found: CertificateRow | None, media_type: str,
             *, alternate: int = 0) -> Download:
    """The account's certificate `found` (read with the signed request; 404 when None or
    anyone else's) in `media_type` (one of MEDIA_TYPES): with its chain, or with the
    `alternate`-th of the ca.alternate_chains that fit its leaf (RFC 8555 §7.4.2; 404 past
    the last)."""
    pem = chains.served_chain(_owned(account, found).pem_chain)
    leaf = chains.leaf_of(pem)
    fitting = [c for c in env.alternate_chains if chains.chains_to(leaf, c)]
    if alternate:
        if not 0 < alternate <= len(fitting):
            raise problems.not_found()
        pem = leaf + fitting[alternate - 1]
    return Download(body=formats.encode(pem, media_type),
                    content_type=formats.CONTENT_TYPES[media_type],
                    needs_up=chains.count(pem) == 1, alternates=len(fitting))


def issuer_pem(env: Env) -> str:
    """The certificate of the CA that signs leaves, PEM (the target of rel="up")."""
    return to_pem(env.ca.issuer_certificate)
