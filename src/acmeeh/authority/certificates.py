"""Certificates: download (RFC 8555 §7.4.2) and the issuer certificate behind rel="up"."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..issuance import chains
from ..issuance.profiles import to_pem
from ..protocol import problems
from ..store import certs as cert_store
from ..store.records import AccountRow, CertificateRow
from .env import Env


@dataclass(frozen=True)
class Download:
    """A certificate as served: the leaf then its intermediates, never the root."""

    pem_chain: str
    # True when the chain holds the leaf alone: the client then needs rel="up" to reach the
    # issuer (a client such as mod_md refuses a one-certificate chain with no way up).
    needs_up: bool


def _owned(env: Env, account: AccountRow, cert_id: uuid.UUID) -> CertificateRow:
    """The account's certificate; another account's is indistinguishable from none (404)."""
    with env.pool.connection() as conn:
        cert = cert_store.get_certificate(conn, cert_id)
    if cert is None or cert.account_id != account.id:
        raise problems.not_found()
    return cert


def download(env: Env, account: AccountRow, cert_id: uuid.UUID) -> Download:
    """The account's certificate chain as it is sent (404 for anyone else's)."""
    pem = chains.served_chain(_owned(env, account, cert_id).pem_chain)
    return Download(pem_chain=pem, needs_up=chains.count(pem) == 1)


def issuer_pem(env: Env) -> str:
    """The certificate of the CA that signs leaves, PEM (the target of rel="up")."""
    return to_pem(env.ca.issuer_certificate)
