"""The audit log: query (time range, actor, action, outcome) and streamed export (JSON lines
or CSV)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response

from ..authority.env import Env
from ..store import audit as audit_store
from ..store.audit import AuditFilter
from ..store.paging import Page
from . import audit, render
from .blueprint import ctx, paged, write_audit
from .inputs import Query

FILTERS = ("since", "until", "actor", "action", "outcome")
OUTCOMES = ("success", "failure", "denied")
EXPORT_BATCH = 500
EXPORT_MAX_BATCHES = 2000  # one million rows per export, at most
CSV_COLUMNS = ("id", "created_at", "actor", "actor_id", "action", "target", "outcome",
               "remote_addr", "details")


def _filter(q: Query) -> AuditFilter:
    return AuditFilter(since=q.time("since"), until=q.time("until"), actor=q.text("actor"),
                       action=q.text("action"), outcome=q.choice("outcome", OUTCOMES))


def list_audit() -> Response:
    q = Query(("limit", "cursor", *FILTERS))
    flt = _filter(q)
    return paged(q, lambda conn, page: audit_store.list_audit(conn, page, flt), render.audit_event)


def _events(env: Env, flt: AuditFilter) -> Iterator[dict[str, Any]]:
    """Every matching event, newest first, fetched in keyset batches (bounded)."""
    page = Page(EXPORT_BATCH)
    for _ in range(EXPORT_MAX_BATCHES):
        with env.pool.connection() as conn:
            rows = audit_store.list_audit(conn, page, flt)
        yield from (render.audit_event(r) for r in rows[:EXPORT_BATCH])
        if len(rows) <= EXPORT_BATCH:
            return
        last = rows[EXPORT_BATCH - 1]
        page = Page(EXPORT_BATCH, last.created_at, str(last.id))


def _csv_cell(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else ("" if value is None else str(value))
    # A leading =, +, - or @ makes spreadsheets evaluate the cell (CSV injection); defuse it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow([_csv_cell(event[c]) for c in CSV_COLUMNS])
        if buffer.tell() > 16384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_audit() -> Response:
    """Stream the matching events; the export itself is audited."""
    q = Query(("format", *FILTERS))
    fmt = q.choice("format", ("jsonl", "csv")) or "jsonl"
    flt = _filter(q)
    env = ctx().env
    record_export(fmt, flt)
    events = _events(env, flt)
    if fmt == "csv":
        resp = Response(_csv(events), content_type="text/csv; charset=utf-8")
    else:
        resp = Response((json.dumps(e) + "\n" for e in events), content_type="application/x-ndjson")
    resp.headers["Content-Disposition"] = f'attachment; filename="acmeeh-audit.{fmt}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def record_export(fmt: str, flt: AuditFilter) -> None:
    shown = {k: (v.isoformat() if isinstance(v, datetime) else v)
             for k, v in vars(flt).items() if v is not None}
    write_audit("audit.export", audit.SUCCESS, {"format": fmt, "filter": shown})
