"""The admin REST API over HTTP, with the standard library only (urllib).

Operations are named by their OpenAPI operationId; method and path come from the document
that ships with the server (acmeeh/admin/openapi.yaml), so the client and the API cannot
disagree about where an operation lives. Failures become CliError with an exit code.
"""
from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import IO, Any
from urllib.parse import quote, urlencode

import yaml

# Exit codes (documented in docs/admin-cli.md).
EXIT_OK = 0
EXIT_ERROR = 1  # the server failed (5xx) or answered something unexpected
EXIT_USAGE = 2  # bad command line (argparse) or local input
EXIT_AUTH = 3  # not logged in, token refused or expired, login failed (401)
EXIT_FORBIDDEN = 4  # the role may not do this (403)
EXIT_NOT_FOUND = 5  # no such object (404)
EXIT_CONFLICT = 6  # the object is not in a state that allows this (409), e.g. already revoked
EXIT_INVALID = 7  # the server refused the request as invalid (400, 413, 414, 415)
EXIT_UNREACHABLE = 8  # no HTTP answer: connection refused, DNS, TLS, timeout

_BY_STATUS = {400: EXIT_INVALID, 401: EXIT_AUTH, 403: EXIT_FORBIDDEN, 404: EXIT_NOT_FOUND,
              409: EXIT_CONFLICT, 413: EXIT_INVALID, 414: EXIT_INVALID, 415: EXIT_INVALID}
# ACME problems the admin API passes on whose status (400) hides that the object's state
# is the trouble.
_CONFLICT_TYPES = frozenset({"alreadyRevoked", "alreadyReplaced"})
MAX_ERROR_BODY = 65536
CHUNK = 65536


class CliError(Exception):
    """A failure to report on stderr (one line) and exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class ApiError(CliError):
    """The API answered with an error status (an RFC 7807 problem document when it could)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        errors = problem.get("errors") or []
        if errors:
            detail += " (" + "; ".join(f"{e.get('path')}: {e.get('message')}" for e in errors[:5]
                                       if isinstance(e, dict)) + ")"
        kind = str(problem.get("type") or "").rpartition(":")[2]
        where = f"HTTP {status}, {kind}" if kind else f"HTTP {status}"
        code = EXIT_CONFLICT if kind in _CONFLICT_TYPES else _BY_STATUS.get(status, EXIT_ERROR)
        super().__init__(f"{detail} ({where})", code)
        self.status = status
        self.problem = dict(problem)


def load_operations() -> dict[str, tuple[str, str]]:
    """operationId → (HTTP method, path template) from the OpenAPI document(s) that ship in
    the acmeeh.admin package (every *.yaml there with `paths`)."""
    ops: dict[str, tuple[str, str]] = {}
    folder = resources.files("acmeeh.admin")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        doc = yaml.safe_load(entry.read_text(encoding="utf-8"))
        for path, item in (doc.get("paths") or {}).items() if isinstance(doc, dict) else ():
            for method, op in item.items():
                if method != "parameters" and isinstance(op, dict) and "operationId" in op:
                    ops[op["operationId"]] = (method.upper(), path)
    return ops


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the bearer token must not travel to another URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Client:
    """Calls operations of the API at `base_url` (…/api), as `token` when given."""

    base_url: str
    token: str | None = None
    cafile: str | None = None
    timeout: float = 30.0
    operations: dict[str, tuple[str, str]] | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if self.operations is None:
            self.operations = load_operations()
        context = ssl.create_default_context(cafile=self.cafile) if self.cafile else None
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=context))

    def url(self, op: str, params: Mapping[str, Any] | None = None,
            query: Mapping[str, Any] | None = None) -> tuple[str, str]:
        """(method, absolute URL) of operation `op` with its path and query parameters."""
        assert self.operations is not None
        method, template = self.operations[op]
        path = template
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        if "{" in path:
            raise CliError(f"internal: {op} needs path parameters ({template})")
        args = {k: v for k, v in (query or {}).items() if v is not None}
        return method, self.base_url + path + (f"?{urlencode(args)}" if args else "")

    def call(self, op: str, *, params: Mapping[str, Any] | None = None,
             query: Mapping[str, Any] | None = None, body: Any = None,
             auth: bool = True) -> Any:
        """The JSON answer of `op` (None for 204). Raises ApiError or CliError."""
        with self._open(op, params, query, body, auth) as resp:
            raw = resp.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise CliError(f"{op}: the server answered something that is not JSON") from None

    def download(self, op: str, sink: IO[bytes], *, params: Mapping[str, Any] | None = None,
                 query: Mapping[str, Any] | None = None) -> int:
        """Stream the answer of `op` into `sink`; the number of bytes written."""
        total = 0
        with self._open(op, params, query, None, True) as resp:
            while chunk := resp.read(CHUNK):
                sink.write(chunk)
                total += len(chunk)
        return total

    def _open(self, op: str, params: Mapping[str, Any] | None, query: Mapping[str, Any] | None,
              body: Any, auth: bool) -> Any:
        method, url = self.url(op, params, query)
        headers = {"Accept": "application/json, application/problem+json, */*"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if auth:
            if not self.token:
                raise CliError("not logged in: run `acmeeh admin login` or set ACMEEH_ADMIN_TOKEN",
                               EXIT_AUTH)
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except (urllib.error.URLError, OSError, ssl.SSLError, socket.timeout) as exc:
            reason = getattr(exc, "reason", exc)
            raise CliError(f"cannot reach {self.base_url}: {reason}", EXIT_UNREACHABLE) from None


def _api_error(exc: urllib.error.HTTPError) -> ApiError:
    raw = exc.read(MAX_ERROR_BODY) if exc.fp is not None else b""
    problem: dict[str, Any] = {}
    try:
        parsed = json.loads(raw)
        if isinstance(parsed, dict):
            problem = parsed
    except ValueError:
        pass
    if not problem:
        problem = {"detail": f"HTTP {exc.code} {exc.reason}"}
        if 300 <= exc.code < 400:
            problem["detail"] += f" to {exc.headers.get('Location', '?')} (redirects are not followed)"
    return ApiError(exc.code, problem)
