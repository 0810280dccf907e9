"""Logging: text or JSON-lines output on stderr, and a filter that masks secrets in every record.

`configure_logging` installs one handler on the root logger (calling it again replaces it);
`reconfigure_level` changes the level at run time (SIGHUP). The redaction filter sits on the
handler, so it sees records from every logger that propagates to the root.

Request context: the web room binds the request id (and client address) with `bind_request`;
`RequestContextFilter` copies it onto every record, so each line of a request carries it.
Audit: `audit(event, ...)` writes one record per security event on the "acmeeh.audit" logger
(who, what, when, outcome); `configure_audit` sends them to `logging.audit.file` as JSON lines
and follows the file through logrotate's renames.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import logging.handlers
import math
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

# Field names whose values are never logged. ACME challenge tokens and key authorizations are
# public (RFC 8555 §8.3 serves them over plain HTTP), so a bare "token" is not on the list.
_SECRET_NAME = (
    r"passw(?:or)?d|passphrase|secret|hmac|private_?key|privkey|cookie|api_?key|credential"
    r"|(?:access|refresh|auth|admin|api|bearer|session|id)_?token"
)
_SECRET_KEY = re.compile(rf"{_SECRET_NAME}|^authorization$", re.IGNORECASE)
MASK = "***"
_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(-----END \1PRIVATE KEY-----|\Z)", re.DOTALL
)
_KEY_VALUE = re.compile(
    rf"""(?P<key>["']?[\w.-]*(?:{_SECRET_NAME})[\w.-]*["']?)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&}\]]+)""",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(
    r"(?P<key>\bauthorization\s*[:=]\s*)(?P<value>(?:Bearer|Basic)\s+\S+|\S+)", re.IGNORECASE
)
_URI_PASSWORD = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@/\s]+)(?P<at>@)", re.IGNORECASE
)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_OURS = "_acmeeh_handler"
AUDIT_LOGGER = "acmeeh.audit"


@dataclass(frozen=True)
class RequestContext:
    """What every log line of one HTTP request carries."""

    request_id: str
    remote_addr: str | None = None


# One value per thread / task; the web room sets and resets it around each request.
_REQUEST: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "acmeeh_request", default=None
)


def bind_request(request_id: str, remote_addr: str | None = None) -> contextvars.Token:
    """Mark the current context as serving `request_id`; pass the token to `unbind_request`."""
    return _REQUEST.set(RequestContext(request_id, remote_addr))


def unbind_request(token: contextvars.Token) -> None:
    _REQUEST.reset(token)


class RequestContextFilter(logging.Filter):
    """Adds `request_id` to every record emitted while a request is bound."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _REQUEST.get()
        if bound is not None and not hasattr(record, "request_id"):
            record.request_id = bound.request_id
        return True


@functools.lru_cache(maxsize=1024)  # field names come from code: a small, repeating set
def is_secret_key(key: str) -> bool:
    """True when a field called `key` must never be logged."""
    return bool(_SECRET_KEY.search(key))


# Every pattern below needs one of these words (lower case); text without any of them is
# returned as is, so ordinary log lines (ids, serials, URLs) cost a few substring scans.
_TRIGGERS = re.compile(
    "passw|passphrase|secret|hmac|private|privkey|cookie|api|credential|token|authorization|://"
)


def redact_text(text: str) -> str:
    """`text` with private key PEMs, key=value secrets, auth headers and URI passwords masked."""
    if not _TRIGGERS.search(text.lower()):
        return text
    text = _PEM_PRIVATE.sub("[REDACTED PRIVATE KEY]", text)
    text = _AUTH_HEADER.sub(lambda m: m.group("key") + MASK, text)
    text = _KEY_VALUE.sub(lambda m: m.group("key") + m.group("sep") + MASK, text)
    return _URI_PASSWORD.sub(lambda m: m.group("scheme") + MASK + m.group("at"), text)


def redact_value(key: str, value: Any, depth: int = 0) -> Any:
    """`value` with secrets masked: whole value if `key` is secret, else recursively inside."""
    if is_secret_key(key) and value not in (None, ""):
        return MASK
    if depth > 8:  # bounded: logged structures are small; never recurse without limit
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value("", v, depth + 1) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Masks secrets in the message, its arguments, `extra` fields and the exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact_text(message), None
        for key in set(vars(record)) - _STANDARD:
            setattr(record, key, redact_value(key, getattr(record, key)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record got through `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    """`2026-11-23T13:00:00.123Z INFO acmeeh.web: message key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extras = extra_fields(record)
        if extras:
            line += " " + " ".join(f"{k}={_compact(v)}" for k, v in sorted(extras.items()))
        exc = self._exception(record)
        return f"{line}\n{exc}" if exc else line

    def _exception(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        parts = [
            record.exc_text or "",
            self.formatStack(record.stack_info) if record.stack_info else "",
        ]
        return "\n".join(p for p in parts if p)


class JsonFormatter(TextFormatter):
    """One JSON object per line: ts, level, logger, msg, the `extra` fields, exc (string)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in extra_fields(record).items():
            doc.setdefault(key, value)
        exc = self._exception(record)
        if exc:
            doc["exc"] = exc
        return json.dumps(doc, default=str, ensure_ascii=False)


# (whole second, its text): most records of a busy second share it, and formatting the date
# costs more than the rest of a short line. One tuple, replaced whole: safe between threads.
_second: tuple[int, str] = (-1, "")


def _timestamp(record: logging.LogRecord) -> str:
    global _second
    whole = int(record.created)
    cached = _second
    if cached[0] != whole:
        text = datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        cached = _second = (whole, text)
    return f"{cached[1]}{int(record.created * 1000) % 1000:03d}Z"


# A value with whitespace, a quote or an equals sign is written as JSON, so lines stay parsable.
_NEEDS_QUOTES = re.compile(r'[\s"=]')


def _compact(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value if value and not _NEEDS_QUOTES.search(value) else json.dumps(value, ensure_ascii=False)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)  # what json.dumps writes for these
    return json.dumps(value, default=str, ensure_ascii=False)


def configure_logging(
    level: str | int = "INFO", fmt: str = "text", *, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to `stream` (stderr) as `fmt` ("text" or "json"), secrets masked.

    Idempotent: a handler installed by an earlier call is replaced. Returns the new handler.

    Records no longer collect what no line of ours shows (the logging HOWTO's "Optimization"
    switches): the caller's file, line and function (a walk up the stack), and the thread,
    process and multiprocessing names. Every request writes at least its access line, so this
    is per-request work.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r} (text or json)")
    logging._srcfile = None  # type: ignore[attr-defined]  # no findCaller() per record
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    number = _level_number(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _OURS, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(number)
    logging.captureWarnings(True)
    return handler


def configure_audit(enabled: bool, file: str | None = None) -> logging.Logger:
    """Set up the audit logger (idempotent; a handler from an earlier call is replaced).

    Disabled: audit records are dropped. Enabled with `file`: one JSON object per line
    appended to it (and not repeated in the main log). Enabled without a file: the records go
    to the main log. Audit records are INFO and pass whatever `logging.level` is.

    Rotation is logrotate's job: before each record, every process checks that `file` is still
    the file it has open (device and inode) and reopens the path when it was moved or removed,
    so logrotate's default rename-and-create needs no signal and loses no record.
    """
    logger = logging.getLogger(AUDIT_LOGGER)
    for old in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(old)
        old.close()
    logger.disabled = not enabled
    logger.setLevel(logging.INFO)
    logger.propagate = True
    if enabled and file:
        # Append mode: O_APPEND lines, whole from every process; reopened after a rotation.
        handler = logging.handlers.WatchedFileHandler(file, encoding="utf-8")
        setattr(handler, _OURS, True)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestContextFilter())
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def audit(event: str, *, actor: str | None = None, outcome: str = "success", **fields: Any) -> None:
    """Record one security event: what (`event` and `fields`), who (`actor`, the client
    address of the current request), when (the record time) and the `outcome`.

    Events are dotted nouns: account.created, account.deactivated, account.key_changed,
    order.finalized, certificate.issued, certificate.revoked. Values are stringified.
    """
    bound = _REQUEST.get()
    extra: dict[str, Any] = {
        "audit": True,
        "event": event,
        "actor": actor,
        "outcome": outcome,
        "remote_addr": bound.remote_addr if bound else None,
    }
    for key, value in fields.items():
        extra.setdefault(key, value if isinstance(value, (int, float, bool)) or value is None
                         else str(value))
    logging.getLogger(AUDIT_LOGGER).info(event, extra=extra)


def reconfigure_level(level: str | int) -> None:
    """Change the root level at run time (e.g. on SIGHUP). Raises ValueError for an unknown name."""
    logging.getLogger().setLevel(_level_number(level))


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    return number
