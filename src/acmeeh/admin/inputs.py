"""Parsing admin requests at the edge: JSON bodies (size, media type, schema), query
parameters (unknown or repeated ones are refused) and opaque page cursors."""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import request

from ..store.paging import Page
from . import problems
from .spec import Spec

MAX_TEXT = 256


def _clean_text(value: str, where: str) -> str:
    """Refuse text PostgreSQL cannot store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise problems.bad_request(f"{where}: NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise problems.bad_request(f"{where}: not valid Unicode text") from None
    return value


def _check_strings(value: Any, where: str, depth: int = 0) -> None:
    if isinstance(value, str):
        _clean_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _clean_text(key, where)
            _check_strings(item, f"{where}/{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, f"{where}/{i}", depth + 1)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(spec: Spec, schema: str, limit: int, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, checked against components.schemas[schema].

    413 over `limit` bytes, 415 unless application/json, 400 for bad JSON or schema misses.
    With `optional`, an empty body counts as {}.
    """
    if request.content_length is not None and request.content_length > limit:
        raise problems.payload_too_large(limit)
    raw = request.stream.read(limit + 1)
    # A chunked body has no length; the server's own limit may have cut it short, in which
    # case one more read either finds data or raises 413 itself.
    if len(raw) > limit or (request.content_length is None and raw and request.stream.read(1)):
        raise problems.payload_too_large(limit)
    if not raw and optional:
        data: Any = {}
    else:
        if (request.mimetype or "").lower() != "application/json":
            raise problems.unsupported_media_type()
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise problems.bad_request("the request body is not valid JSON") from None
    _check_strings(data, "body")
    spec.check(schema, data)
    return data


class Query:
    """Typed access to the query string; unknown or repeated parameters are 400."""

    def __init__(self, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        unknown = sorted(set(request.args) - allowed)
        if unknown:
            raise problems.bad_request("unknown query parameter(s): " + ", ".join(unknown)[:200])
        for name in request.args:
            if len(request.args.getlist(name)) > 1:
                raise problems.bad_request(f"query parameter {name} is given more than once")

    def text(self, name: str, max_len: int = MAX_TEXT) -> str | None:
        value = request.args.get(name)
        if value is None:
            return None
        if not value or len(value) > max_len:
            raise problems.bad_request(f"{name}: 1 to {max_len} characters")
        return _clean_text(value, name)

    def choice(self, name: str, choices: Iterable[str]) -> str | None:
        value = request.args.get(name)
        options = list(choices)
        if value is not None and value not in options:
            raise problems.bad_request(f"{name}: one of {', '.join(options)}")
        return value

    def uuid(self, name: str) -> uuid.UUID | None:
        value = request.args.get(name)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            raise problems.bad_request(f"{name}: not a UUID") from None

    def time(self, name: str) -> datetime | None:
        """An RFC 3339 date-time with a UTC offset."""
        value = request.args.get(name)
        if value is None:
            return None
        return parse_time(value, name)

    def page(self, max_size: int, *, uuid_key: bool = True) -> Page:
        """`limit` (1..max_size, default max_size) and `cursor`."""
        raw = request.args.get("limit")
        limit = max_size
        if raw is not None:
            if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= max_size:
                raise problems.bad_request(f"limit: an integer from 1 to {max_size}")
            limit = int(raw)
        cursor = request.args.get("cursor")
        if cursor is None:
            return Page(limit)
        created, key = decode_cursor(cursor, uuid_key=uuid_key)
        return Page(limit, created, key)


def parse_time(value: str, name: str) -> datetime:
    """An RFC 3339 date-time; a space where the offset's '+' should be is forgiven."""
    bad = problems.bad_request(f"{name}: an RFC 3339 date-time with a UTC offset")
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text.replace(" ", "+"))
        except ValueError:
            raise bad from None
    if when.tzinfo is None:
        raise bad
    return when


def encode_cursor(created_at: datetime, key: str) -> str:
    """Opaque to clients: base64url of JSON [created_at, key]."""
    raw = json.dumps([created_at.isoformat(), key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *, uuid_key: bool) -> tuple[datetime, str]:
    bad = problems.bad_request("cursor: not a cursor this API handed out")
    if len(cursor) > 512:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, key = json.loads(raw)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or not isinstance(key, str) or not key:
            raise ValueError("incomplete cursor")
        if uuid_key:
            key = str(uuid.UUID(key))
        _clean_text(key, "cursor")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise bad from None
    except problems.AdminProblem:
        raise bad from None
    return when, key
