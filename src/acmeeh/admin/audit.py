"""Writing the audit log: who did what to which object, with what outcome."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..authority.env import Env
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
