"""Failure injection under load: restart PostgreSQL and kill -9 a gunicorn worker while ACME
clients run complete issuance flows; report the failed requests by status, the recovery times,
and afterwards any order stuck in processing or certificate missing.

    .venv/bin/python bench/chaos.py                  # c=8, 40 s; PostgreSQL down at 10 s, kill -9 at 25 s
    .venv/bin/python bench/chaos.py --concurrency 2 --seconds 12 --restart-at 4 --kill-at 0 --json-out F

Starts its own embedded PostgreSQL (data in a temporary directory, never the test server) and
ACMEEH under gunicorn, both on loopback. Clients are bench/client_flow.py's SimClient (one
account per thread; a 429/503 with Retry-After is backed off and retried, as loadgen does);
every HTTP exchange is timed and kept. A failure is any answer outside the flow's expected
statuses, or no answer at all (transport). Goals (--check exits 1 when one is missed): no 500,
every refused request a 503 with Retry-After (kill -9 also cuts connections: transport), the
last failed request sent less than --recovery-goal seconds after PostgreSQL accepted
connections again, no order left in processing, every certificate a client downloaded stored.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import paths  # noqa: F401  (first: src/ and tests/ on sys.path)
import psycopg
import requests
from client_flow import Options, Recorder, SimClient
from cryptography import x509
from harness import acmeeh_config, free_port, generate_ca, start_acmeeh, start_postgres
from loadgen import TokenDirResponder
from support.acme_client import problem_type
from support.pgctl import Restartable

MAX_FLOWS_PER_THREAD = 100_000
SETTLE_SECONDS = 90.0  # after the load: how long orders may take to leave processing


@dataclass
class Exchange:
    """One HTTP request of a flow: when it was sent and answered, and how."""

    step: str
    sent: float
    took: float
    status: int | None  # None: no answer (connection cut, client timeout)
    retry_after: bool = False
    problem: str | None = None
    error: str | None = None  # why no answer came

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 400


@dataclass
class Timeline:
    """Every exchange and injected event, in time.monotonic() seconds; thread-safe appends."""

    exchanges: list[Exchange] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)
    serials: set[str] = field(default_factory=set)  # of certificates clients downloaded
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)


class ChaosClient(SimClient):
    """A SimClient whose every request lands on the timeline."""

    def __init__(self, opts: Options, timeline: Timeline) -> None:
        super().__init__(opts, Recorder())
        self.timeline = timeline

    def call(self, kind: str, fn: Any, *args: Any, expect: tuple[int, ...] = (200,)) -> requests.Response:
        def timed(*call_args: Any) -> requests.Response:
            sent = time.monotonic()
            try:
                response = fn(*call_args)
            except requests.RequestException as exc:
                self.timeline.add(Exchange(kind, sent, time.monotonic() - sent, None,
                                           error=f"{type(exc).__name__}: {str(exc)[:200]}"))
                raise
            self.timeline.add(Exchange(kind, sent, time.monotonic() - sent, response.status_code,
                                       "Retry-After" in response.headers, problem_type(response)))
            if kind == "certificate" and response.status_code == 200:
                leaf = x509.load_pem_x509_certificate(response.content)
                with self.timeline.lock:
                    self.timeline.serials.add(format(leaf.serial_number, "x"))
            return response

        return super().call(kind, timed, *args, expect=expect)


def run_clients(opts: Options, concurrency: int, seconds: float, timeline: Timeline) -> Recorder:
    """`concurrency` threads running flows for `seconds`; their merged Recorder."""
    clients = [ChaosClient(opts, timeline) for _ in range(concurrency)]
    for client in clients:
        client.setup()
    deadline = time.monotonic() + seconds

    def loop(client: ChaosClient) -> None:
        for _ in range(MAX_FLOWS_PER_THREAD):
            if time.monotonic() >= deadline:
                return
            client.run_flow()

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    timeline.events["load_start"] = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + opts.flow_timeout + 30)
    timeline.events["load_end"] = time.monotonic()
    merged = Recorder()
    for client in clients:
        merged.merge(client.rec)
    return merged


def gunicorn_workers(master: int) -> list[int]:
    """Pids of the processes whose parent is `master` (its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return sorted(found)


def ready_again(base_url: str, timeout: float = 30.0) -> float:
    """Poll /readyz every 20 ms until it answers 200; the time it did (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic()
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.02)
    return float("nan")


def inject(pg: Restartable, master: int, base_url: str, args: argparse.Namespace,
           timeline: Timeline) -> None:
    """On its own thread: PostgreSQL down for --down-seconds at --restart-at, kill -9 of one
    gunicorn worker at --kill-at (seconds after the load started; 0 skips)."""
    while "load_start" not in timeline.events:
        time.sleep(0.01)
    start = timeline.events["load_start"]
    plan = sorted([(args.restart_at, "restart"), (args.kill_at, "kill")])
    for at, what in plan:
        if at <= 0:
            continue
        time.sleep(max(0.0, start + at - time.monotonic()))
        if what == "restart":
            timeline.events["pg_stop"] = time.monotonic()
            pg.stop()
            timeline.events["pg_stopped"] = time.monotonic()
            time.sleep(args.down_seconds)
            pg.start()  # -w: returns once it accepts connections
            timeline.events["pg_ready"] = time.monotonic()
            timeline.events["acmeeh_ready"] = ready_again(base_url)
        else:
            victim = gunicorn_workers(master)[0]
            os.kill(victim, signal.SIGKILL)
            timeline.events["worker_killed"] = time.monotonic()
            timeline.events["killed_pid"] = float(victim)


def window(timeline: Timeline, start: float, end: float) -> dict[str, Any]:
    """The requests answered (or cut) in [start, end): failures by status, and how long after
    `start` the last failed one was sent and the first good one answered."""
    seen = [e for e in timeline.exchanges if start <= e.sent + e.took < end]
    failed = [e for e in seen if e.failed]
    by_status = Counter("transport" if e.status is None else str(e.status) for e in failed)
    good = [e.sent + e.took - start for e in seen if not e.failed and e.sent >= start]
    return {
        "requests": len(seen),
        "failed": dict(sorted(by_status.items())),
        "failed_503_without_retry_after": sum(1 for e in failed if e.status == 503 and not e.retry_after),
        "last_failure_sent_after_s": round(max((e.sent - start for e in failed), default=0.0), 3),
        "first_success_after_s": round(min(good), 3) if good else None,
        "no_answer": [f"{e.step} {e.error}" for e in failed if e.status is None][:5],
    }


def state_after(database_url: str, serials: set[str], settle: float) -> dict[str, Any]:
    """What the database holds once the load is over: orders by status (waiting up to `settle`
    seconds for orders and challenges in processing to finish: a kill -9 leaves them to the
    recovery loops), valid orders without a certificate, downloaded certificates not stored."""
    busy = ("SELECT (SELECT count(*) FROM orders WHERE status = 'processing'),"
            " (SELECT count(*) FROM challenges WHERE status = 'processing')")
    with psycopg.connect(database_url, autocommit=True) as conn:
        started = time.monotonic()
        while True:
            orders_processing, challenges_processing = conn.execute(busy).fetchone()
            if not (orders_processing or challenges_processing) or time.monotonic() - started >= settle:
                break
            time.sleep(1.0)
        settled = time.monotonic() - started
        orders = dict(conn.execute("SELECT status, count(*) FROM orders GROUP BY status").fetchall())
        stored = {_serial(row[0]) for row in conn.execute("SELECT serial FROM certificates")}
        unbacked = conn.execute(
            "SELECT count(*) FROM orders o WHERE o.status = 'valid' AND NOT EXISTS"
            " (SELECT 1 FROM certificates c WHERE c.id = o.certificate_id)").fetchone()[0]
    return {
        "orders": orders,
        "orders_processing": orders_processing,
        "challenges_processing": challenges_processing,
        "settled_after_s": round(settled, 1),
        "valid_orders_without_certificate": unbacked,
        "certificates_downloaded": len(serials),
        "downloaded_not_stored": len({_serial(s) for s in serials} - stored),
    }


def _serial(text: str) -> str:
    return text.lower().lstrip("0")


def report(timeline: Timeline, rec: Recorder, after: dict[str, Any]) -> dict[str, Any]:
    ev = timeline.events
    all_failed = [e for e in timeline.exchanges if e.failed]
    out: dict[str, Any] = {
        "requests": len(timeline.exchanges),
        "flows_completed": len(rec.flows_ms),
        "flows_failed": dict(rec.errors),
        "failed_by_status": dict(sorted(Counter(
            "transport" if e.status is None else str(e.status) for e in all_failed).items())),
        "after": after,
    }
    # Each event's window ends where the next one starts (or with the load).
    starts = sorted((ev[name], name) for name in ("pg_stop", "worker_killed") if name in ev)
    ends = {name: (starts[i + 1][0] if i + 1 < len(starts) else ev["load_end"])
            for i, (_, name) in enumerate(starts)}
    if "pg_stop" in ev:
        outage = window(timeline, ev["pg_stop"], ends["pg_stop"])
        since_ready = window(timeline, ev["pg_ready"], ends["pg_stop"])
        out["postgres_restart"] = {
            "down_s": round(ev["pg_ready"] - ev["pg_stop"], 3),
            **outage,
            # 0 when no request sent after PostgreSQL accepted connections failed
            "recovery_after_accepting_s": max(0.0, since_ready["last_failure_sent_after_s"]),
            "readyz_200_after_accepting_s": round(ev["acmeeh_ready"] - ev["pg_ready"], 3),
            # the clients wait Retry-After after a 503, so their first success comes later
            "first_success_after_accepting_s": since_ready["first_success_after_s"],
        }
    if "worker_killed" in ev:
        out["worker_kill_9"] = {
            "pid": int(ev["killed_pid"]),
            **window(timeline, ev["worker_killed"], ends["worker_killed"]),
        }
    return out


def missed_goals(result: dict[str, Any], recovery_goal: float) -> list[str]:
    missed = []
    failed = result["failed_by_status"]
    if failed.get("500"):
        missed.append(f"{failed['500']} answers were 500")
    unexpected = {k: v for k, v in failed.items() if k not in ("503", "transport")}
    if unexpected:
        missed.append(f"failures other than 503: {unexpected}")
    restart = result.get("postgres_restart")
    if restart and restart["failed_503_without_retry_after"]:
        missed.append("a 503 without Retry-After")
    if restart and restart["recovery_after_accepting_s"] > recovery_goal:
        missed.append(f"recovery {restart['recovery_after_accepting_s']}s > {recovery_goal}s")
    if "worker_kill_9" not in result and failed.get("transport"):
        missed.append(f"{failed['transport']} requests got no answer")
    after = result["after"]
    for key in ("orders_processing", "challenges_processing", "valid_orders_without_certificate",
                "downloaded_not_stored"):
        if after[key]:
            missed.append(f"{key}: {after[key]}")
    return missed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seconds", type=float, default=40.0, help="load duration")
    p.add_argument("--restart-at", type=float, default=10.0, help="s after the load starts (0: none)")
    p.add_argument("--down-seconds", type=float, default=2.0, help="PostgreSQL stays stopped this long")
    p.add_argument("--kill-at", type=float, default=25.0, help="kill -9 a worker then (0: none)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument("--mode", choices=("http-01", "auto-accept"), default="http-01")
    p.add_argument("--recovery-goal", type=float, default=2.0)
    p.add_argument("--workdir", help="keep everything here instead of a temporary directory")
    p.add_argument("--json-out", help="write the result here")
    p.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="acmeeh-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pg = start_postgres(workdir)
    server = responder = None
    try:
        database_url = pg.create_database("acmeeh")
        port, http01_port = free_port(), free_port()
        config = acmeeh_config(
            port=port, database_url=database_url, ca=generate_ca(workdir / "ca"),
            http01_port=http01_port, workers=args.workers, worker_class="gthread",
            threads=args.threads, auto_accept=args.mode == "auto-accept", pool_size=10)
        # A kill -9 leaves the order a finalize was in at processing: the shortest threshold
        # lets the cleanup worker find it within the settle time.
        config["order"] = {"stale_processing_threshold_seconds": 60, "cleanup_interval_seconds": 5}
        server = start_acmeeh(workdir / "acmeeh", config)
        token_dir = workdir / "tokens"
        token_dir.mkdir(exist_ok=True)
        if args.mode == "http-01":
            responder = TokenDirResponder(http01_port, token_dir).start()
        opts = Options(server.directory_url, str(token_dir) if responder else None)
        timeline = Timeline()
        base_url = config["server"]["external_url"]
        injector = threading.Thread(target=inject, args=(Restartable(pg.server), server.pid,
                                                         base_url, args, timeline), daemon=True)
        injector.start()
        rec = run_clients(opts, args.concurrency, args.seconds, timeline)
        injector.join(60)
        after = state_after(database_url, timeline.serials, SETTLE_SECONDS)
        result = report(timeline, rec, after)
        result["missed_goals"] = missed_goals(result, args.recovery_goal)
    finally:
        if responder is not None:
            responder.stop()
        if server is not None:
            server.stop()
        pg.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text)
    return 1 if args.check and result["missed_goals"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
