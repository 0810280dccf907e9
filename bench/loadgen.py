"""ACME load generator: complete issuance flows against any RFC 8555 directory, many at once.

    python bench/loadgen.py --directory URL [--concurrency 16] [--processes 2]
        [--seconds 20 | --flows 1000] [--mode http-01 --http01-port PORT | --mode auto-accept]
        [--server-pid PID] [--pgdata DIR | --pg-pid PID] [--json-out FILE]

Concurrency C is spread over P worker processes (threads in each), so the client's own CPU is
not one GIL. In http-01 mode this process runs the one http-01 responder (the server has one
port); workers publish key authorizations as files in a shared directory it serves from.
The last line printed is
`RESULT issuances_per_sec=… p99_flow_ms=… errors=… server_cpu_ms_per_issuance=…`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import paths  # noqa: F401  (first: src/ and tests/ on sys.path)
import pgstat
import requests
from client_flow import FlowError, Options, Recorder, SimClient
from procstat import delta, postmaster_pid, sample
from report import render, summarize
from support.acme_client import Http01Responder

MAX_SECONDS = 3600
MAX_FLOWS = 10_000_000
SETUP_TIMEOUT = 120.0  # worker start-up + account creation
JOIN_SLACK = 30.0
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class TokenDirResponder(Http01Responder):
    """The test client's http-01 responder, answering from <dir>/<token> files that the
    worker processes write (RFC 8555 §8.3: the body is the key authorization)."""

    def __init__(self, port: int, directory: Path) -> None:
        super().__init__(port)
        self.directory = directory

    def lookup(self, token: str) -> str | None:
        if not token or not set(token) <= TOKEN_CHARS:  # base64url only: no path tricks
            return None
        try:
            return (self.directory / token).read_text()
        except OSError:
            return None


def split(total: int, parts: int) -> list[int]:
    """`total` threads over `parts` processes as evenly as possible (no empty process)."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _claim(counter, limit: int | None) -> bool:
    if limit is None:
        return True
    with counter.get_lock():
        if counter.value >= limit:
            return False
        counter.value += 1
        return True


def _run_thread(sim: SimClient, deadline: float, counter, limit: int | None) -> None:
    for _ in range(MAX_FLOWS):
        if time.time() >= deadline or not _claim(counter, limit):
            break
        sim.run_flow()
    sim.rec.finished_at = time.time()


def worker_main(
    index: int,
    threads: int,
    opts: Options,
    seconds: float,
    limit: int | None,
    go,
    start_at,
    counter,
    ready_q,
    result_q,
) -> None:
    """One worker process: set up `threads` accounts, wait for go, run flows, report."""
    recorders = [Recorder() for _ in range(threads)]
    sims = [SimClient(opts, rec) for rec in recorders]
    try:
        for sim in sims:
            sim.setup()
    except FlowError as error:
        ready_q.put((index, f"setup failed: {error}"))
        return
    setup = Recorder()
    for rec in recorders:  # keep the account-creation latencies, measured before the window
        setup.merge(rec)
        rec.latencies.clear()
    ready_q.put((index, None))
    if not go.wait(timeout=SETUP_TIMEOUT):
        return
    before = resource.getrusage(resource.RUSAGE_SELF)
    deadline = start_at.value + seconds
    workers = [
        threading.Thread(target=_run_thread, args=(sim, deadline, counter, limit), daemon=True)
        for sim in sims
    ]
    for thread in workers:
        thread.start()
    hard_stop = time.time() + seconds + opts.flow_timeout + JOIN_SLACK
    for thread in workers:
        thread.join(timeout=max(0.1, hard_stop - time.time()))
    after = resource.getrusage(resource.RUSAGE_SELF)
    merged = Recorder()
    for rec in recorders:
        merged.merge(rec)
    for kind in ("directory", "newAccount"):
        merged.latencies[kind] = setup.latencies.get(kind, [])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result_q.put((index, merged.to_dict(), cpu, sum(t.is_alive() for t in workers)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--directory", required=True, help="ACME directory URL")
    p.add_argument("--concurrency", type=int, default=4, help="flows in flight (default 4)")
    p.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="client worker processes (default: CPU count)",
    )
    p.add_argument("--seconds", type=float, help="stop starting flows after this long")
    p.add_argument("--flows", type=int, help="stop after this many flows in total")
    p.add_argument(
        "--mode",
        choices=("http-01", "auto-accept"),
        default="http-01",
        help="answer http-01 for real, or rely on the server's challenges.auto_accept",
    )
    p.add_argument(
        "--http01-port", type=int, help="the server's challenges.http01.port (http-01 mode)"
    )
    p.add_argument("--suffix", default="bench.localhost", help="names are <uuid>.<suffix>")
    p.add_argument(
        "--poll-interval",
        type=float,
        default=0.05,
        help="seconds between polls (Retry-After is honoured up to this; default 0.05)",
    )
    p.add_argument(
        "--http",
        choices=("fast", "requests"),
        default="fast",
        help="client HTTP stack: bench/fasthttp.py (default, about half the CPU) or requests",
    )
    p.add_argument(
        "--flow-timeout", type=float, default=60.0, help="give up on one flow after this"
    )
    p.add_argument("--server-pid", type=int, help="gunicorn master pid: its tree's CPU is measured")
    p.add_argument(
        "--pgdata", help="PostgreSQL data directory: its postmaster tree's CPU is measured"
    )
    p.add_argument("--pg-pid", type=int, help="postmaster pid (instead of --pgdata)")
    p.add_argument(
        "--pg-dsn",
        help="the server's database: PostgreSQL's transactions, rows and"
        " WAL flushes per issuance are reported (adds ~2.5 s)",
    )
    p.add_argument(
        "--ca-file", help="CA certificate (PEM) to trust for an https directory, e.g. Pebble's"
    )
    p.add_argument("--json-out", help="also write the summary as JSON here")
    args = p.parse_args(argv)
    if args.seconds is None and args.flows is None:
        args.seconds = 10.0
    if args.seconds is not None and not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    if args.flows is not None and not 0 < args.flows <= MAX_FLOWS:
        p.error(f"--flows must be in 1..{MAX_FLOWS}")
    if not 1 <= args.concurrency <= 4096:
        p.error("--concurrency must be in 1..4096")
    if args.mode == "http-01" and not args.http01_port:
        p.error("--mode http-01 needs --http01-port (the server's challenges.http01.port)")
    return args


def _token_dir() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="acmeeh-bench-", dir=shm if shm.is_dir() else None))


def run(args: argparse.Namespace) -> dict:
    """Run the load and return the summary (see report.summarize)."""
    # fail fast on a wrong URL
    requests.get(args.directory, timeout=10, verify=args.ca_file or True).raise_for_status()
    token_dir = _token_dir() if args.mode == "http-01" else None
    responder = TokenDirResponder(args.http01_port, token_dir).start() if token_dir else None
    pg_pid = args.pg_pid or (postmaster_pid(args.pgdata) if args.pgdata else None)
    opts = Options(
        args.directory,
        str(token_dir) if token_dir else None,
        args.poll_interval,
        request_timeout=15.0,
        flow_timeout=args.flow_timeout,
        suffix=args.suffix,
        http=args.http,
        ca_file=args.ca_file,
    )
    seconds = args.seconds if args.seconds is not None else MAX_SECONDS
    ctx = mp.get_context("spawn")  # no fork of a process that already runs threads
    go, start_at, counter = ctx.Event(), ctx.Value("d", 0.0), ctx.Value("q", 0)
    ready_q, result_q = ctx.Queue(), ctx.Queue()
    shares = split(args.concurrency, args.processes)
    procs = [
        ctx.Process(
            target=worker_main,
            daemon=True,
            args=(i, n, opts, seconds, args.flows, go, start_at, counter, ready_q, result_q),
        )
        for i, n in enumerate(shares)
    ]
    try:
        for proc in procs:
            proc.start()
        _wait_ready(ready_q, len(procs))
        pg_before = pgstat.sample(args.pg_dsn) if args.pg_dsn else {}
        cpu_before, own_before = (
            sample(args.server_pid, pg_pid),
            resource.getrusage(resource.RUSAGE_SELF),
        )
        start_at.value = time.time()
        go.set()
        merged, worker_cpu = _collect(
            result_q, len(procs), seconds + args.flow_timeout + 2 * JOIN_SLACK
        )
        cpu_after, own_after = (
            sample(args.server_pid, pg_pid),
            resource.getrusage(resource.RUSAGE_SELF),
        )
        pg_after = pgstat.sample(args.pg_dsn) if args.pg_dsn else {}
    finally:
        go.set()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
        if responder is not None:
            responder.stop()
        if token_dir is not None:
            shutil.rmtree(token_dir, ignore_errors=True)
    own = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    elapsed = max(merged.finished_at - start_at.value, 1e-9)
    summary = summarize(
        merged,
        elapsed=elapsed,
        concurrency=args.concurrency,
        processes=len(procs),
        mode=args.mode,
        client_cpu_s=worker_cpu + own,
        cpu=delta(cpu_before, cpu_after),
    )
    summary["postgres_per_issuance"] = pgstat.per_issuance(
        pg_before, pg_after, summary["issuances"]
    )
    return summary


def _wait_ready(ready_q, count: int) -> None:
    deadline = time.monotonic() + SETUP_TIMEOUT
    for _ in range(count):
        try:
            index, problem = ready_q.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise SystemExit(f"loadgen: workers not ready within {SETUP_TIMEOUT:.0f}s") from None
        if problem:
            raise SystemExit(f"loadgen: worker {index}: {problem}")


def _collect(result_q, count: int, timeout: float) -> tuple[Recorder, float]:
    merged, cpu, deadline = Recorder(), 0.0, time.monotonic() + timeout
    for _ in range(count):
        try:
            index, data, worker_cpu, stuck = result_q.get(
                timeout=max(0.1, deadline - time.monotonic())
            )
        except queue.Empty:
            raise SystemExit(f"loadgen: workers did not finish within {timeout:.0f}s") from None
        if stuck:
            print(
                f"loadgen: worker {index}: {stuck} thread(s) still running at the hard stop",
                file=sys.stderr,
            )
        merged.merge(Recorder.from_dict(data))
        cpu += worker_cpu
    return merged, cpu


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary = run(args)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=1))
    print(render(summary), flush=True)
    return 0 if summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
