"""The server's own CPU per request and per issuance, measured inside one process, without
gunicorn or sockets: for comparing per-request levers on a machine other jobs keep busy.

    .venv/bin/python bench/inprocess.py [--flows 200] [--set KEY=VALUE ...] [--src CHECKOUT]

Builds the application as a gunicorn worker does (`create_app`, logging configured as
`serve` does it, into a file; Prometheus in multiprocess mode), against a fresh embedded
PostgreSQL (durability checked), in auto-accept mode. One simulated client (the load
generator's flow: newNonce, newOrder, authorization, challenge, poll, finalize, poll,
download) calls the WSGI application directly; only the application call is timed, by the
calling thread's CPU clock (`time.thread_time`), so the client's JWS signing, other
processes and time spent waiting for PostgreSQL do not count. PostgreSQL's own CPU is not
in these figures (run_matrix gives it). Flows run one after another on one thread.

It prints the median and the 10th percentile CPU per request type, and per issuance the sums
of the medians and of the 10th percentiles weighted by requests per flow (other jobs inflate
some samples a lot and most a little: compare these, not the mean).
`--set` overrides configuration keys (as run_matrix's); `--src` imports ACMEEH from
another checkout's src/ (the figures of the code before a change: run both, alternately).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit


def _paths(src: str | None) -> None:
    if src:
        sys.path.insert(0, str(Path(src).resolve() / "src"))


class WsgiResponse:
    """The parts of requests.Response that AcmeClient and the flows read."""

    def __init__(self, method: str, url: str, status: str, headers: list, body: bytes) -> None:
        from email.message import Message

        self.status_code = int(status.split(" ", 1)[0])
        self.headers = Message()  # case-insensitive get / [] / in, like http.client's
        for name, value in headers:
            self.headers[name] = value
        self.content = body
        self.url = url
        self.request = SimpleNamespace(method=method)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


class WsgiSession:
    """A requests.Session look-alike that calls a WSGI app and times each call (thread CPU)."""

    trust_env = False
    verify: bool | str = True

    def __init__(self, app: Any, host: str) -> None:
        self.app, self.host = app, host
        self.kind = "other"  # set by the caller before each request
        self.cpu: dict[str, list[float]] = defaultdict(list)

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        **_ignored: Any,
    ) -> WsgiResponse:
        parts = urlsplit(url)
        body = data or b""
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path or "/",
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "127.0.0.1",
            "SERVER_PORT": str(parts.port or 80),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": self.host,
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            else:
                environ[f"HTTP_{key}"] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, response_headers: list, exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, response_headers
            return lambda _data: None

        started = time.thread_time()
        result = self.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self.cpu[self.kind].append((time.thread_time() - started) * 1000.0)
        return WsgiResponse(method, url, answer["status"], answer["headers"], payload)


def build_app(workdir: Path, pg: Any, name: str, overrides: dict[str, object]) -> tuple[Any, str]:
    """The application on its own database of `pg`, and its directory URL."""
    from harness import acmeeh_config, free_port, generate_ca

    from acmeeh import runtime
    from acmeeh.app import create_app
    from acmeeh.config import settings_from_dict

    database = pg.create_database(f"acmeeh_inprocess_{name}")
    port = free_port()
    config = acmeeh_config(
        port=port,
        database_url=database,
        ca=generate_ca(workdir / f"ca-{name}"),
        http01_port=free_port(),
        workers=1,
        worker_class="gthread",
        threads=4,
        auto_accept=True,
        pool_size=4,
        overrides={"database.min_connections": 1, **overrides},
    )
    config["database"]["auto_setup"] = True
    app = create_app(settings_from_dict(config, environ={}))
    runtime.start(app, loops=False)  # the validation runner, as in a worker; no background loops
    return app, f"http://127.0.0.1:{port}/acme/directory"


class Target:
    """One application and the simulated client that drives it."""

    def __init__(self, app: Any, directory: str) -> None:
        import client_flow

        self.app = app
        self.session = WsgiSession(app, urlsplit(directory).netloc)
        self.rec = client_flow.Recorder()
        self.sim = client_flow.SimClient(
            client_flow.Options(directory, None, poll_interval=0.0), self.rec
        )
        self.sim.client._session = self.session  # the WSGI app instead of a socket
        original = self.sim.call

        def call(kind: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.session.kind = kind
            return original(kind, fn, *args, **kwargs)

        self.sim.call = call  # type: ignore[method-assign]
        self.sim.setup()

    def flow(self) -> None:
        if not self.sim.run_flow():
            raise SystemExit(f"flow failed: {self.rec.details[-1:]}")


def run(
    flows: int, overrides: dict[str, object], variant: dict[str, object] | None
) -> list[dict[str, list[float]]]:
    """Per target (the baseline, then the variant if any), CPU ms by request type. With a
    variant, the two applications take turns flow by flow in the same window."""
    from harness import start_postgres

    from acmeeh.logs import configure_logging

    with tempfile.TemporaryDirectory(prefix="acmeeh-inprocess-") as tmp:
        work = Path(tmp)
        pg = start_postgres(work)
        apps = []
        log = open(work / "server.log", "a", encoding="utf-8")  # noqa: SIM115
        try:
            configure_logging("INFO", "text", stream=log)  # as `serve` does, into a file
            apps.append(build_app(work, pg, "a", overrides))
            if variant is not None:
                apps.append(build_app(work, pg, "b", {**overrides, **variant}))
            targets = [Target(app, directory) for app, directory in apps]
            warmup = min(20, flows)
            for index in range(flows + warmup):
                if index == warmup:
                    for t in targets:
                        t.session.cpu.clear()
                for t in targets if index % 2 == 0 else targets[::-1]:
                    t.flow()
            return [dict(t.session.cpu) for t in targets]
        finally:
            for app, _ in apps:
                app.runtime.shutdown(timeout=2)
            pg.stop()
            log.close()


def report(cpu: dict[str, list[float]], flows: int) -> str:
    """Per request type: count, median and 10th percentile; per issuance: the mean, and the
    medians and 10th percentiles times the requests per flow (robust to other jobs' bursts:
    compare these)."""
    lines = [f"{'request':<12} {'count':>6} {'median ms':>10} {'p10 ms':>8} {'mean/issuance':>14}"]
    mean = median = p10 = 0.0
    for kind, values in cpu.items():
        per_flow = len(values) / flows
        low = statistics.quantiles(values, n=10)[0] if len(values) >= 10 else min(values)
        mid = statistics.median(values)
        mean += sum(values) / flows
        median += mid * per_flow
        p10 += low * per_flow
        lines.append(
            f"{kind:<12} {len(values):>6} {mid:>10.3f} {low:>8.3f} {sum(values) / flows:>14.3f}"
        )
    lines.append(
        f"RESULT inprocess_ms_per_issuance median={median:.3f} p10={p10:.3f} mean={mean:.3f}"
        f" flows={flows}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--flows", type=int, default=200, help="measured flows (default 200)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="configuration override")
    p.add_argument(
        "--variant",
        action="append",
        metavar="KEY=VALUE",
        help="also build an application B with this override; A and B take turns flow by flow",
    )
    p.add_argument("--src", help="import ACMEEH from this checkout's src/")
    args = p.parse_args(argv)
    if not 1 <= args.flows <= 100_000:
        p.error("--flows must be 1..100000")
    multiproc = tempfile.mkdtemp(prefix="acmeeh-inprocess-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc  # as under gunicorn, before the import
    import paths  # noqa: F401  (tests/ and src/ on sys.path)

    _paths(args.src)  # first on the path, before anything imports acmeeh
    from harness import parse_overrides

    import acmeeh

    print(f"acmeeh from {Path(acmeeh.__file__).parent}", flush=True)
    variant = parse_overrides(args.variant) if args.variant else None
    results = run(args.flows, parse_overrides(args.set), variant)
    for name, cpu in zip("AB", results, strict=False):
        if len(results) > 1:
            print(f"{name}: {'baseline' if name == 'A' else ', '.join(args.variant)}")
        print(report(cpu, args.flows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
