"""The floor under ACMEEH's server CPU: what gunicorn + Flask cost per request on this machine.

Starts gunicorn with a one-route Flask app (no database, no hooks) under the worker settings
run_matrix uses, sends `--requests` keep-alive GETs from one thread with the load generator's
HTTP session, and prints the server CPU per request. A complete issuance is nine requests
(newNonce, newOrder, authz, challenge, authz poll, finalize, order poll, certificate, plus the
account's share), so nine times this figure is spent before any ACME work starts.

    .venv/bin/python bench/floor.py [--worker-class gthread|sync] [--requests 3000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import fasthttp
import procstat
from harness import free_port, wait_ok

APP = '''from flask import Flask
app = Flask("floor")


@app.get("/empty")
def empty():
    return "ok"
'''
FLOW_REQUESTS = 9


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--requests", type=int, default=3000)
    args = p.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="acmeeh-floor-") as tmp:
        Path(tmp, "floorapp.py").write_text(APP)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class",
             args.worker_class, "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}",
             "floorapp:app"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": tmp},
        )
        try:
            url = f"http://127.0.0.1:{port}/empty"
            if (error := wait_ok(url, server)) is not None:
                raise SystemExit(f"gunicorn did not answer {url}: {error}")
            session = fasthttp.Session()
            for _ in range(min(200, args.requests)):  # warm-up
                session.request("GET", url)
            before = procstat.sample(server.pid, None)
            for _ in range(args.requests):
                session.request("GET", url)
            used = procstat.delta(before, procstat.sample(server.pid, None))["server_cpu_s"] or 0.0
        finally:
            server.terminate()
            server.wait(timeout=10)
    per_request = used * 1000 / args.requests
    print(f"gunicorn {args.worker_class} + Flask, empty route: {per_request:.3f} ms server CPU "
          f"per request; x{FLOW_REQUESTS} requests per issuance = "
          f"{per_request * FLOW_REQUESTS:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
