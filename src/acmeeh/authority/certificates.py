"""Certificates: download (RFC 8555 §7.4.2)."""
from __future__ import annotations

import uuid

from ..protocol import problems
from ..store import certs as cert_store
from ..store.records import AccountRow, CertificateRow
from .env import Env


def get_certificate(env: Env, account: AccountRow, cert_id: uuid.UUID) -> CertificateRow:
    """The account's certificate; another account's is indistinguishable from none (404)."""
    with env.pool.connection() as conn:
        cert = cert_store.get_certificate(conn, cert_id)
    if cert is None or cert.account_id != account.id:
        raise problems.not_found()
    return cert
