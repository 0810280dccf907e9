"""A real HTTP receiver of webhooks on 127.0.0.1: records every POST (path, headers, body),
answers a settable status, and can be stopped and started again on the same port (the
receiver being down and coming back)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .dns import free_port

WAIT_SECONDS = 30.0
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, port: int | None = None, *, status: int = 204) -> None:
        self.port = port or free_port()
        self.status = status
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/acmeeh?src=test"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                with owner._lock:
                    owner.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)

    def events(self, kind: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if kind is None or r.json()["type"] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = WAIT_SECONDS) -> list[Received]:
        """At least `count` deliveries of event `kind` (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(kind)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        got = [r.json()["type"] for r in self.events()]
        raise AssertionError(f"expected {count} {kind} deliveries within {timeout}s; got {got}")

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
