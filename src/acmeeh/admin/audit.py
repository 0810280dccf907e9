"""Writing the audit log: who did what to which object, with what outcome."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..authority.env import Env
from ..authority.ratelimits import TokenBucket
from ..logs import audit as audit_log
from ..logs import redact_value
from ..store import audit as audit_store

SUCCESS, FAILURE, DENIED = "success", "failure", "denied"


@dataclass(frozen=True)
class Actor:
    """The authenticated user (or the CLI) an action is attributed to."""

    username: str
    user_id: uuid.UUID | None = None
    role: str = "admin"


def record(
    env: Env, *, actor: Actor | None, action: str, target: str | None, outcome: str,
    details: dict[str, Any] | None = None, remote_addr: str | None = None,
    attempted_by: str | None = None,
) -> None:
    """Write one audit row, and the same event as an audit log line ("admin.<action>").
    Secret-looking fields are masked, so a careless caller cannot put a password or key
    into the log."""
    clean = _storable(redact_value("", dict(details or {})))
    name = _storable(actor.username if actor else attempted_by)
    target = _storable(target)
    with env.pool.connection() as conn:
        audit_store.insert_audit(
            conn, uuid.uuid4(), actor=name, actor_id=actor.user_id if actor else None,
            action=action, target=target, outcome=outcome, details=clean, remote_addr=remote_addr,
        )
    audit_log(f"admin.{action}", actor=name, outcome=outcome, target=target)


class ThrottledAudit:
    """Audit rows for refusals a client can repeat at will (a bad bearer token, a throttled
    login): written while the per-process budget of their action lasts
    (admin_api.failed_auth_audits_per_minute, a minute's worth at once), so a flood of bad
    requests cannot turn into a flood of database writes, nor one kind of flood silence the
    other. What is left out is counted (acmeeh_audit_suppressed_total), and the next row of
    the action says how many rows it stands for (`unaudited_before`)."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._budgets: dict[str, TokenBucket] = {}  # per action: a few names from the code
        self._left_out: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, env: Env, *, action: str, details: dict[str, Any] | None = None,
               **fields: Any) -> bool:
        """Write the row if the budget allows (see `record`); whether it was written."""
        with self._lock:
            budget = self._budgets.get(action)
            if budget is None:
                budget = TokenBucket(self._per_minute / 60.0, burst=self._per_minute)
                self._budgets[action] = budget
        if not budget.take():
            with self._lock:
                self._left_out[action] = self._left_out.get(action, 0) + 1
            metrics.AUDIT_SUPPRESSED.labels(action=action).inc()
            return False
        with self._lock:
            left_out = self._left_out.pop(action, 0)
        extra = {"unaudited_before": left_out} if left_out else {}
        record(env, action=action, details={**(details or {}), **extra}, **fields)
        return True


def _storable(value: Any, depth: int = 0) -> Any:
    """Text PostgreSQL can store: no NUL characters, no lone surrogates (bounded depth)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")[:2000]
    if depth > 8:
        return None
    if isinstance(value, dict):
        return {_storable(str(k)): _storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v, depth + 1) for v in value]
    return value
