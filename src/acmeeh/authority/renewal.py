"""ACME Renewal Information (RFC 9773): certificate identifiers, suggested windows, `replaces`."""
from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from urllib.parse import urlsplit

from cryptography import x509

from ..protocol import problems
from ..protocol.identifiers import Identifier
from ..protocol.status import OrderStatus
from ..store import certs as cert_store
from ..store import renewals as renewal_store
from ..store import revocation_status as status_store
from ..store.db import Connection
from ..store.records import AccountRow, OrderRow
from ..store.revocation_status import RenewalRow
from .env import Env

_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_CERT_ID_LENGTH = 512
ONE_SECOND = timedelta(seconds=1)
MAX_EXPLANATION_URL = 2048


@dataclass(frozen=True)
class CertID:
    """RFC 9773 §4.1: AKI keyIdentifier and serial number; `text` is the canonical form."""

    key_identifier: bytes
    serial_number: int
    text: str


@dataclass(frozen=True)
class RenewalInfo:
    """RFC 9773 §4.2: the suggested window, when to ask again, and an optional explanation."""

    start: datetime
    end: datetime
    retry_after: int
    explanation_url: str | None = None
    source: str = "computed"  # "operator" (an admin's window), "revoked" or "computed"

    def to_json(self) -> dict:
        body: dict = {"suggestedWindow": {"start": _rfc3339(self.start), "end": _rfc3339(self.end)}}
        if self.explanation_url:
            body["explanationURL"] = self.explanation_url
        return body


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(part: str) -> bytes:
    # RFC 9773 §4.1: base64url with every trailing "=" stripped.
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def serial_bytes(serial_number: int) -> bytes:
    """The DER INTEGER content octets: two's complement, minimal length."""
    return serial_number.to_bytes(serial_number.bit_length() // 8 + 1, "big", signed=True)


def parse_cert_id(text: str) -> CertID:
    """Decode "base64url(AKI keyIdentifier).base64url(serial)"; malformed (400) when it is not."""
    aki_part, dot, serial_part = text.partition(".")
    try:
        if len(text) > MAX_CERT_ID_LENGTH or not dot:
            raise ValueError("expected two parts separated by '.'")
        key_id = _b64url_decode(aki_part)
        raw_serial = _b64url_decode(serial_part)
    except ValueError as exc:
        raise problems.malformed(f"invalid certificate identifier: {exc}") from None
    serial = int.from_bytes(raw_serial, "big", signed=True)
    if serial <= 0:
        raise problems.malformed("invalid certificate identifier: the serial must be positive")
    return CertID(key_id, serial, f"{b64url(key_id)}.{b64url(serial_bytes(serial))}")


def key_identifier(der: bytes) -> bytes | None:
    """The keyIdentifier of a certificate's authorityKeyIdentifier, None without one."""
    try:
        cert = x509.load_der_x509_certificate(der)
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    return aki.key_identifier


def cert_id(der: bytes) -> str:
    """The RFC 9773 certID of a DER certificate (ValueError without an AKI keyIdentifier)."""
    key_id = key_identifier(der)
    if key_id is None:
        raise ValueError("the certificate has no authorityKeyIdentifier keyIdentifier")
    serial = x509.load_der_x509_certificate(der).serial_number
    return f"{b64url(key_id)}.{b64url(serial_bytes(serial))}"


def _ours(row: RenewalRow | None, cid: CertID) -> RenewalRow | None:
    return row if row is not None and key_identifier(row.der) == cid.key_identifier else None


def window(env: Env, row: RenewalRow) -> RenewalInfo:
    """The suggested window of a certificate (RFC 9773 §4.2).

    Revoked: a window in the past (notBefore to the revocation time), so clients renew at once.
    Otherwise the operator's window when one is set, else the configured fractions of the
    validity period. The end is always after the start (§4.2: anything else is invalid).
    """
    cfg = env.settings.renewal_info
    explanation, source = None, "computed"
    if row.revoked_at is not None:
        start = row.not_before
        end = min(row.revoked_at, env.clock())
        source = "revoked"
    elif row.window_start is not None and row.window_end is not None:
        start, end, explanation = row.window_start, row.window_end, row.explanation_url
        source = "operator"
    else:
        lifetime = row.not_after - row.not_before
        start = row.not_before + lifetime * cfg.window_start
        end = row.not_before + lifetime * cfg.window_end
    start = start.replace(microsecond=0)
    end = max(end.replace(microsecond=0), start + ONE_SECOND)
    return RenewalInfo(start, end, cfg.retry_after_seconds, explanation, source)


def renewal_info(env: Env, text: str) -> RenewalInfo:
    """The RenewalInfo of the certificate named by certID `text`.

    malformed (400) for a bad identifier, malformed 404 for a certificate we did not issue.
    """
    cid = parse_cert_id(text)
    with env.pool.connection() as conn:
        row = _ours(status_store.get_renewal(conn, format(cid.serial_number, "x")), cid)
    if row is None:
        raise problems.not_found("no certificate with this identifier was issued by this server")
    return window(env, row)


def check_replaces(
    conn: Connection, account: AccountRow, identifiers: Sequence[Identifier], text: str, *,
    settle: Callable[[OrderRow], OrderRow],
) -> str:
    """RFC 9773 §5 checks for newOrder's `replaces`; the canonical certID to record.

    Call inside the newOrder transaction: the certificate row stays locked until it ends, so
    two orders replacing one certificate are judged one after the other. `settle` applies the
    order status rule to an order (an expired one becomes invalid and stops counting).
    Raises malformed (unknown certificate, no shared identifier), unauthorized (another
    account's certificate) or alreadyReplaced (409).
    """
    cid = parse_cert_id(text)
    row = _ours(status_store.lock_for_replacement(conn, format(cid.serial_number, "x")), cid)
    if row is None:
        raise problems.malformed("replaces: no certificate with this identifier was issued by this server")
    if row.account_id != account.id:
        raise problems.unauthorized("replaces: the certificate belongs to another account")
    if not set(row.names) & {i.value for i in identifiers}:
        raise problems.malformed("replaces: the order shares no identifier with the certificate")
    for order in renewal_store.orders_replacing(conn, cid.text):
        if settle(order).status != OrderStatus.INVALID:
            raise problems.already_replaced(
                f"certificate {cid.text} was already replaced by order {order.id}"
            )
    return cid.text


def _serials(serials: Sequence[str]) -> list[str]:
    try:
        return [format(int(s.replace(":", ""), 16), "x") for s in serials]
    except ValueError:
        raise problems.malformed("serials must be hexadecimal") from None


def set_windows(
    env: Env, serials: Sequence[str], *, start: datetime, end: datetime,
    explanation_url: str | None = None,
) -> int:
    """Move the suggested window of the certificates with these hex serials (admin API);
    the number changed. malformed when end is not after start."""
    if end <= start:
        raise problems.malformed("the window must end after it starts")
    with env.pool.connection() as conn, conn.transaction():
        ids = renewal_store.certificate_ids_by_serial(conn, _serials(serials))
        return renewal_store.set_windows(conn, ids, start=start, end=end, explanation_url=explanation_url)


def clear_windows(env: Env, serials: Sequence[str]) -> int:
    """Return these certificates to the computed window; the number changed."""
    with env.pool.connection() as conn, conn.transaction():
        ids = renewal_store.certificate_ids_by_serial(conn, _serials(serials))
        return renewal_store.clear_windows(conn, ids)


# --- the operator's window of one certificate (admin API) ----------------------------------

def _serial_of(env: Env, cert_id: uuid.UUID) -> str:
    with env.pool.connection() as conn:
        cert = cert_store.get_certificate(conn, cert_id)
    if cert is None:
        raise problems.not_found("no such certificate")
    return cert.serial


def window_of(env: Env, cert_id: uuid.UUID) -> tuple[str, RenewalInfo]:
    """(serial, the window renewalInfo answers now) of a certificate; 404 unknown."""
    serial = _serial_of(env, cert_id)
    with env.pool.connection() as conn:
        row = status_store.get_renewal(conn, serial)
    if row is None:
        raise problems.not_found("no such certificate")
    return serial, window(env, row)


def check_explanation_url(url: str | None) -> str | None:
    """RFC 9773 §4.2 explanationURL: an absolute http(s) URL for people to read; malformed else."""
    if url is None:
        return None
    parts = urlsplit(url)
    if (parts.scheme not in ("https", "http") or not parts.hostname
            or len(url) > MAX_EXPLANATION_URL or any(c.isspace() for c in url)):
        raise problems.malformed("explanation_url: an absolute http or https URL")
    return url


def set_window(
    env: Env, cert_id: uuid.UUID, *, start: datetime, end: datetime,
    explanation_url: str | None = None,
) -> tuple[str, RenewalInfo]:
    """Suggest [start, end) to the certificate's renewalInfo from now on (a window in the
    past asks clients to renew at once); malformed when end is not after start."""
    serial = _serial_of(env, cert_id)
    set_windows(env, [serial], start=start, end=end,
                explanation_url=check_explanation_url(explanation_url))
    env.log.info("renewal window set", extra={"serial": serial})
    return window_of(env, cert_id)


def clear_window(env: Env, cert_id: uuid.UUID) -> tuple[str, RenewalInfo]:
    """Back to the computed window (no-op when none was set); the window now answered."""
    serial = _serial_of(env, cert_id)
    clear_windows(env, [serial])
    env.log.info("renewal window cleared", extra={"serial": serial})
    return window_of(env, cert_id)
