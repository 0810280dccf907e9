"""Pre-issuance lint (issue 13 item 6): a signed leaf with an error-level finding is not issued.

Finalize calls `check` between the signature and the certificate's storage. On refusal, in one
transaction: the order goes processing → invalid (serverInternal), the leaf is kept with its
issuance intent (the admin API shows it: `issuance-intents`), the intent is abandoned, and its
serial is revoked (reason unspecified), since a leaf this CA will not stand behind must not
answer "good" to OCSP even if it never left the server. The CA backend hears of the revocation
like any other (an upstream CA revokes its copy). Each finding is logged and counted.
"""
from __future__ import annotations

import time
import uuid

from .. import metrics
from ..issuance.backend import IssuedCertificate
from ..issuance.lint import Finding, refusing
from ..logs import audit
from ..protocol import problems
from ..protocol.status import OrderStatus, RevocationReason
from ..store import intents as intent_store
from ..store.records import AccountRow
from . import events, revocation, states
from .env import Env

ACTOR = "lint"


def check(env: Env, account: AccountRow, order_id: uuid.UUID, issued: IssuedCertificate) -> None:
    """Return when linting is off or the leaf has no refusing finding; otherwise settle the
    order and the serial as above and raise serverInternal."""
    if env.linter is None:
        return
    started = time.perf_counter()
    findings = env.linter.findings(issued.der)
    metrics.LINT_SECONDS.observe(time.perf_counter() - started)
    for finding in findings:
        metrics.LINT_FINDINGS.labels(severity=finding.severity, code=finding.code).inc()
    refused = refusing(findings)
    if not refused:
        return
    _refuse(env, account, order_id, issued, refused)
    raise problems.server_internal(
        internal="pre-issuance lint refused the leaf: " + ", ".join(f.code for f in refused))


def _refuse(env: Env, account: AccountRow, order_id: uuid.UUID, issued: IssuedCertificate,
            refused: list[Finding]) -> None:
    serial = issued.serial_hex
    env.log.error("certificate refused by pre-issuance lint", extra={
        "order_id": str(order_id), "serial": serial, "linter": env.linter.kind if env.linter else "",
        "findings": [str(f) for f in refused]})
    metrics.LINT_REFUSALS.inc()
    now = env.clock()
    with env.pool.connection() as conn, conn.transaction():
        intent_store.keep_signed(conn, order_id, serial=serial, der=issued.der,
                                 pem_chain=issued.pem_chain, not_before=issued.not_before,
                                 not_after=issued.not_after, now=now)
        moved = states.move_order(conn, order_id, OrderStatus.PROCESSING, OrderStatus.INVALID,
                                  error=problems.server_internal().to_dict())
        if moved is not None:
            events.order_invalid(conn, env, moved, failed=True)
        intent_store.abandon(conn, serial, now)
        intent_store.set_revoked(conn, serial, reason=RevocationReason.UNSPECIFIED, now=now)
    audit("certificate.lint_refused", actor=ACTOR, outcome="failure", order_id=order_id,
          account_id=account.id, serial=serial, findings=",".join(f.code for f in refused))
    audit("certificate.revoked", actor=ACTOR, serial=serial,
          reason=RevocationReason.UNSPECIFIED.name, unstored="true")
    metrics.CERTIFICATES_REVOKED.inc()
    revocation.tell_backend(env, serial, issued.der, RevocationReason.UNSPECIFIED, now)
