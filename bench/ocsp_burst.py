"""OCSP burst: N OCSP queries (RFC 6960 A.1 GET by default) from a thread pool at a running
ACMEEH, then responses per second and latency percentiles. A benchmark, not a test.

    .venv/bin/python bench/ocsp_burst.py --url http://127.0.0.1:8443/ocsp \\
        --issuer ca.pem --cert leaf.pem [--requests 2000] [--threads 16] [--method GET|POST]
    .venv/bin/python bench/ocsp_burst.py --self-contained [--requests 2000]
        (starts a server with tests/support, issues one certificate, bursts, stops the server)

Every query is the same CertID without a nonce, the case a responder cache serves (browsers
and stapling servers send no nonce); `--nonce` adds a fresh nonce to each, forcing a signature
per query, for comparison.

`--client wrk` sends the GET queries with wrk (Debian's `wrk`, C, 2 threads, `--threads`
connections, for `--seconds`) instead of Python threads: on a small machine the Python client
costs more CPU per query than the server and caps the figure; wrk measures the server.
"""
from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import paths  # noqa: F401  (first: src/ and tests/ on sys.path)
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from support.acme_client import AcmeClient, Http01Responder, expect
from support.server import start_server

REQUEST_TIMEOUT = 15.0
MAX_WALL_SECONDS = 600.0


def build_request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bool) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(secrets.token_bytes(16)), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def burst(url: str, cert: x509.Certificate, issuer: x509.Certificate, *, count: int, threads: int,
          method: str, nonce: bool) -> dict:
    """Fire `count` queries on `threads` threads; latencies, statuses and wall time."""
    local = threading.local()
    fixed = build_request(cert, issuer, nonce=False)
    deadline = time.monotonic() + MAX_WALL_SECONDS

    def one(_i: int) -> tuple[float, str]:
        if time.monotonic() > deadline:
            return 0.0, "skipped (deadline)"
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        der = build_request(cert, issuer, nonce=True) if nonce else fixed
        start = time.perf_counter()
        try:
            if method == "GET":
                path = quote(base64.b64encode(der).decode(), safe="")
                response = session.get(f"{url}/{path}", timeout=REQUEST_TIMEOUT)
            else:
                response = session.post(url, data=der, timeout=REQUEST_TIMEOUT,
                                        headers={"Content-Type": "application/ocsp-request"})
        except requests.RequestException as exc:
            return time.perf_counter() - start, f"transport:{type(exc).__name__}"
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            return elapsed, f"http-{response.status_code}"
        parsed = ocsp.load_der_ocsp_response(response.content)
        if parsed.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return elapsed, parsed.response_status.name
        return elapsed, parsed.certificate_status.name.lower()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, range(count)))
    wall = time.perf_counter() - started
    latencies = sorted(r[0] for r in results if not r[1].startswith("skipped"))
    return {"wall": wall, "latencies": latencies, "statuses": Counter(r[1] for r in results)}


def wrk_burst(url: str, cert: x509.Certificate, issuer: x509.Certificate, *, threads: int,
              seconds: int) -> str:
    """GET the fixed query with wrk for `seconds` over `threads` connections; its summary."""
    path = quote(base64.b64encode(build_request(cert, issuer, nonce=False)).decode(), safe="")
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(threads), "-d", f"{seconds}s", "--latency", f"{url}/{path}"],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.MULTILINE)
    return "\n".join([
        f"OCSP burst (wrk): GET for {seconds} s, {threads} connections, nonce=no",
        f"  responses/s: {float(rate.group(1)) if rate else float('nan'):,.0f}",
        f"  latency:     p50 {lat.get('50', '?')}  p99 {lat.get('99', '?')}",
        f"  non-2xx: {bad.group(1) if bad else 0}  socket errors: {errors.group(1) if errors else 'none'}",
    ])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def report(result: dict, count: int, threads: int, method: str, nonce: bool) -> str:
    lat = result["latencies"]
    rate = len(lat) / result["wall"] if result["wall"] else 0.0
    lines = [
        f"OCSP burst: {count} {method} queries, {threads} threads, nonce={'yes' if nonce else 'no'}",
        f"  responses/s: {rate:,.0f}  (wall {result['wall']:.2f} s)",
        (f"  latency ms:  p50 {percentile(lat, 50) * 1000:.2f}  p99 {percentile(lat, 99) * 1000:.2f}"
         f"  mean {statistics.fmean(lat) * 1000 if lat else float('nan'):.2f}"),
        "  statuses:    " + ", ".join(f"{k}={v}" for k, v in sorted(result["statuses"].items())),
    ]
    return "\n".join(lines)


def self_contained(args: argparse.Namespace) -> int:
    """Start a server (gunicorn, tests/support), get a certificate through ACME, burst."""
    workdir = Path(tempfile.mkdtemp(prefix="ocsp-burst-"))
    server = start_server(workdir, workers=args.workers,
                          overrides={"server": {"threads": args.server_threads},
                                     "logging": {"level": "WARNING"}})
    try:
        client = AcmeClient(server.directory_url)
        expect(client.new_account(), 201)
        with Http01Responder(server.http01_port) as http01:
            got = client.obtain_certificate([f"burst-{os.getpid()}.localhost"], http01=http01)
        cert = x509.load_pem_x509_certificates(got["pem"].encode())[0]
        issuer = x509.load_pem_x509_certificate(server.ca_cert_path.read_bytes())
        url = f"{server.base_url}/ocsp"
        warm = burst(url, cert, issuer, count=min(200, args.requests), threads=args.threads,
                     method=args.method, nonce=args.nonce)  # warm-up: connections, caches
        print(f"server: gunicorn {args.workers} workers x {args.server_threads} threads, "
              f"{server.base_url}")
        if args.client == "wrk":
            assert set(warm["statuses"]) == {"good"}, warm["statuses"]  # answers are right
            print(wrk_burst(url, cert, issuer, threads=args.threads, seconds=args.seconds))
            return 0
        result = burst(url, cert, issuer, count=args.requests, threads=args.threads,
                       method=args.method, nonce=args.nonce)
        print(report(result, args.requests, args.threads, args.method, args.nonce))
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="OCSP responder URL, e.g. http://127.0.0.1:8443/ocsp")
    p.add_argument("--issuer", type=Path, help="CA certificate (PEM)")
    p.add_argument("--cert", type=Path, help="certificate to ask about (PEM)")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--method", choices=["GET", "POST"], default="GET")
    p.add_argument("--nonce", action="store_true", help="a fresh nonce per query (no cache)")
    p.add_argument("--self-contained", action="store_true", help="start a server for the run")
    p.add_argument("--client", choices=["python", "wrk"], default="python",
                   help="who sends the queries (wrk: GET, needs Debian's wrk)")
    p.add_argument("--seconds", type=int, default=10, help="how long wrk sends (1..300)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (self-contained)")
    p.add_argument("--server-threads", type=int, default=8, help="threads per worker (self-contained)")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= 1_000_000 or not 1 <= args.threads <= 512:
        p.error("--requests must be 1..1000000 and --threads 1..512")
    if not 1 <= args.seconds <= 300:
        p.error("--seconds must be 1..300")
    if args.client == "wrk" and (shutil.which("wrk") is None or args.method != "GET" or args.nonce):
        p.error("--client wrk needs wrk on PATH (apt-get install wrk), GET and no --nonce")
    if args.self_contained:
        return self_contained(args)
    if not (args.url and args.issuer and args.cert):
        p.error("--url, --issuer and --cert are required (or --self-contained)")
    cert = x509.load_pem_x509_certificates(args.cert.read_bytes())[0]
    issuer = x509.load_pem_x509_certificate(args.issuer.read_bytes())
    result = burst(args.url.rstrip("/"), cert, issuer, count=args.requests, threads=args.threads,
                   method=args.method, nonce=args.nonce)
    print(report(result, args.requests, args.threads, args.method, args.nonce))
    return 0 if not any(k.startswith(("http-", "transport", "MALFORMED", "UNAUTH", "INTERNAL"))
                        for k in result["statuses"]) else 1


if __name__ == "__main__":
    sys.exit(main())
