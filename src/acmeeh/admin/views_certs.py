"""Certificates: search (serial, name, account, expiry range, status), get, revoke one,
and bulk revoke by filter (a dry run, the default, only counts)."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from ..authority import revocation
from ..store import certs as cert_store
from ..store import search
from ..store.search import CertificateFilter
from . import problems, render
from .blueprint import actor, audited, body, ctx, found, json_response, note, paged
from .inputs import Query, parse_time

CERT_STATUSES = ("valid", "expired", "revoked")
# A bulk revocation touches at most this many certificates; narrow the filter for more.
BULK_LIMIT = 10000


def normalize_serial(text: str) -> str:
    """Lower-case hex without separators or leading zeros, as stored."""
    serial = text.strip().lower().replace(":", "")
    if not serial or any(ch not in "0123456789abcdef" for ch in serial):
        raise problems.bad_request("serial: hexadecimal digits (colons allowed)")
    return serial.lstrip("0") or "0"


def list_certificates() -> Response:
    q = Query(("limit", "cursor", "serial", "name", "account_id", "expires_after",
               "expires_before", "status"))
    serial = q.text("serial", 128)
    now = ctx().env.clock()
    flt = CertificateFilter(
        serial=normalize_serial(serial) if serial is not None else None,
        name=q.text("name"), account_id=q.uuid("account_id"),
        expires_after=q.time("expires_after"), expires_before=q.time("expires_before"),
        status=q.choice("status", CERT_STATUSES), now=now,
    )
    return paged(q, lambda conn, page: search.list_certificates(conn, page, flt),
                 lambda r: render.certificate(r, now))


def get_certificate(cert_id: uuid.UUID) -> Response:
    row = found(lambda conn: cert_store.get_certificate(conn, cert_id), "no such certificate")
    return json_response({**render.certificate(row, ctx().env.clock()), "pem": row.pem_chain})


@audited("certificate.revoke", target="certificate:{cert_id}")
def revoke_certificate(cert_id: uuid.UUID) -> Response:
    reason = body("RevokeRequest", optional=True).get("reason", 0)
    note(reason=reason)
    row = revocation.revoke_by_admin(ctx().env, cert_id, reason, operator=actor().username)
    note(serial=row.serial)
    return json_response(render.certificate(row, ctx().env.clock()))


def _bulk_filter(raw: dict[str, Any]) -> CertificateFilter:
    return CertificateFilter(
        serial=normalize_serial(raw["serial"]) if "serial" in raw else None,
        name=raw.get("name"),
        account_id=uuid.UUID(raw["account_id"]) if "account_id" in raw else None,
        expires_after=parse_time(raw["expires_after"], "filter.expires_after")
        if "expires_after" in raw else None,
        expires_before=parse_time(raw["expires_before"], "filter.expires_before")
        if "expires_before" in raw else None,
        status=raw.get("status"), now=ctx().env.clock(),
    )


@audited("certificate.bulk_revoke")
def bulk_revoke() -> Response:
    data = body("BulkRevokeRequest")
    flt = _bulk_filter(data["filter"])
    dry_run = data.get("dry_run", True)
    reason = data.get("reason", 0)
    with ctx().env.pool.connection() as conn:
        ids = search.unrevoked_certificate_ids(conn, flt, BULK_LIMIT + 1)
    if len(ids) > BULK_LIMIT:
        raise problems.bad_request(f"more than {BULK_LIMIT} certificates match; narrow the filter")
    note(target="certificates", filter=data["filter"], dry_run=dry_run, reason=reason,
         matched=len(ids))
    revoked = 0 if dry_run else len(revocation.revoke_many_by_admin(
        ctx().env, ids, reason, operator=actor().username))
    note(revoked=revoked)
    return json_response({"matched": len(ids), "revoked": revoked, "dry_run": dry_run})
