"""Run the ACMEEH issuance benchmark matrix with one command.

    .venv/bin/python bench/run_matrix.py            # full: c=1,4,16,64 x 20 s x 3 repeats x 2 modes
    .venv/bin/python bench/run_matrix.py --quick    # c=1,4 x 3 s x 1 repeat, to try it

Creates a temporary work directory with a fresh embedded PostgreSQL (fsync and
synchronous_commit stay on: checked and printed), a development CA, and for each mode a
production-shaped ACMEEH under gunicorn (`python -m acmeeh -c CONFIG serve`, workers = 2 x
cores). Each point runs bench/loadgen.py; the Markdown table gives medians with min-max.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pebble
import pyspy
from harness import ROOT, acmeeh_config, free_port, generate_ca, start_acmeeh, start_postgres
from procstat import wait_quiet

LOADGEN = Path(__file__).resolve().with_name("loadgen.py")
MODES = ("http-01", "auto-accept")
DISTURBED = 0.2  # cores used by other jobs during a point that make it worth repeating
POINT_SLACK = 240.0  # a point may take this much longer than --seconds before it is killed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="concurrency 1,4; 3 s; 1 repeat")
    p.add_argument("--concurrency", default="1,4,16,64", help="comma-separated (default 1,4,16,64)")
    p.add_argument("--seconds", type=float, default=20.0, help="per point (default 20)")
    p.add_argument("--repeats", type=int, default=3, help="per point (default 3)")
    p.add_argument("--modes", default=",".join(MODES), help="http-01, auto-accept or both")
    p.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    p.add_argument(
        "--workers", type=int, default=2 * cores, help="gunicorn workers (default 2 x cores)"
    )
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    p.add_argument("--pool-size", type=int, default=10, help="database.max_connections per worker")
    p.add_argument("--processes", type=int, default=cores, help="load generator processes")
    p.add_argument("--poll-interval", type=float, default=0.05, help="load generator poll interval")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of unrecorded load per mode")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each point wait up to this long for the machine to be idle"
        " (< 15%% busy over 1 s); other jobs on the machine distort the figures",
    )
    p.add_argument(
        "--retry-disturbed",
        type=int,
        default=2,
        help="run a point again (at most this often) when other jobs used more than"
        " 0.2 cores during it; the least disturbed run is kept",
    )
    p.add_argument(
        "--peer",
        choices=("none", "pebble"),
        default="none",
        help="also measure Debian's pebble (always-valid, in memory) with the same generator,"
        " each of its points right after ACMEEH's auto-accept point of the same concurrency,"
        " and print the ratios",
    )
    p.add_argument("--log-level", default="INFO", help="server logging.level (default INFO)")
    p.add_argument("--workdir", help="use this directory (kept) instead of a temporary one")
    p.add_argument("--json-out", help="write every point's summary here")
    p.add_argument("--verbose", action="store_true", help="print loadgen's whole report per point")
    p.add_argument(
        "--py-spy",
        metavar="DIR",
        help="profile the server with py-spy during every point; raw stacks and a"
        " summary go to DIR (costs CPU: do not quote throughput from such runs)",
    )
    p.add_argument(
        "--py-spy-wall",
        action="store_true",
        help="profile wall time of busy threads (incl. waits for PostgreSQL) instead"
        " of GIL-holding Python CPU",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.concurrency, args.seconds, args.repeats, args.warmup = "1,4", 3.0, 1, 1.0
    args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(args.mode_list) <= set(MODES) or not args.levels:
        p.error(f"--modes must be among {MODES}; --concurrency must name at least one level")
    if not 1 <= args.repeats <= 20 or not 0 < args.seconds <= 600:
        p.error("--repeats must be 1..20 and --seconds 0..600")
    return args


def run_point(
    args: argparse.Namespace,
    server,
    pg,
    http01_port: int,
    mode: str,
    concurrency: int,
    seconds: float,
    out: Path,
    label: str = "",
    row: str = "",
) -> dict:
    """One bench/loadgen.py run (profiled if --py-spy); returns its JSON summary. `pg` is None
    for a peer without a database; `row` names the table row (default: the mode)."""
    wait_quiet(args.quiet_wait)
    spy, raw = None, None
    if args.py_spy and not label and pg is not None:
        raw = Path(args.py_spy) / out.with_suffix(".txt").name
        raw.parent.mkdir(parents=True, exist_ok=True)
        # loadgen needs about a second to start its processes and accounts before the window
        spy = pyspy.record(server.pid, raw, seconds + 1.5, gil=not args.py_spy_wall)
    command = [
        sys.executable,
        str(LOADGEN),
        "--directory",
        server.directory_url,
        "--concurrency",
        str(concurrency),
        "--processes",
        str(args.processes),
        "--seconds",
        str(seconds),
        "--mode",
        mode,
        "--http01-port",
        str(http01_port),
        "--poll-interval",
        str(args.poll_interval),
        "--server-pid",
        str(server.pid),
        "--json-out",
        str(out),
    ]
    if pg is not None:
        command += ["--pg-pid", str(pg.pid), "--pg-dsn", server.database_url]
    if getattr(server, "ca_file", None):
        command += ["--ca-file", server.ca_file]
    done = subprocess.run(
        command,
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + POINT_SLACK,
    )
    lines = done.stdout.strip().splitlines()
    if not out.exists():
        raise SystemExit(f"loadgen failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary = json.loads(out.read_text())
    summary["row"] = row or mode
    if summary["errors"] or args.verbose:
        print("\n".join(lines[:-1]), file=sys.stderr if summary["errors"] else sys.stdout)
    if done.stderr.strip():
        print(done.stderr.strip()[-2000:], file=sys.stderr)
    print(f"  {label or row or mode} c={concurrency}: {lines[-1] if lines else '?'}", flush=True)
    if spy is not None and raw is not None:
        _, err = spy.communicate(timeout=60)
        if raw.exists():
            text = pyspy.summary(raw)
            raw.with_suffix(".summary").write_text(text + "\n")
            print(text, flush=True)
        else:
            print(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
    return summary


def _least_disturbed(run: Callable[[], dict], retries: int) -> dict:
    """Run a point; again (bounded) while other jobs took more than DISTURBED cores."""
    best: dict | None = None
    for attempt in range(retries + 1):
        summary = run()
        time.sleep(1.0)  # let queues drain between points
        if best is None or (summary.get("other_cores") or 0) < (best.get("other_cores") or 0):
            best = summary
        other = summary.get("other_cores") or 0
        if other <= DISTURBED:
            break
        if attempt < retries:
            print(f"  disturbed: other jobs used {other:.2f} cores; running the point again")
    assert best is not None
    return best


def _spread(values: list[float | None], digits: int = 1) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(vals):.{digits}f}–{max(vals):.{digits}f})"


def _median(values: list[float | None], digits: int = 2) -> str:
    vals = [v for v in values if v is not None]
    return f"{statistics.median(vals):.{digits}f}" if vals else "n/a"


def table(points: list[dict]) -> str:
    """Markdown: one row per (mode, concurrency), medians over repeats with min–max."""
    head = (
        "| mode | conc. | issuances/s | p99 flow ms | p50 flow ms | errors "
        "| client CPU ms/iss. | server CPU ms/iss. | PostgreSQL CPU ms/iss. | machine busy "
        "| other load (cores) |"
    )
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    keys: list[tuple[str, int]] = []
    for p in points:
        if (_row(p), p["concurrency"]) not in keys:
            keys.append((_row(p), p["concurrency"]))
    for mode, conc in keys:
        runs = [p for p in points if _row(p) == mode and p["concurrency"] == conc]
        busy = [p["machine_busy"] * 100 if p["machine_busy"] is not None else None for p in runs]
        rows.append(
            f"| {mode} | {conc} | {_spread([p['issuances_per_sec'] for p in runs])}"
            f" | {_spread([p['flow_ms']['p99'] for p in runs])}"
            f" | {_spread([p['flow_ms']['p50'] for p in runs])}"
            f" | {sum(p['errors'] for p in runs)}"
            f" | {_spread([p['client_cpu_ms_per_issuance'] for p in runs], 2)}"
            f" | {_spread([p['server_cpu_ms_per_issuance'] for p in runs], 2)}"
            f" | {_spread([p['postgres_cpu_ms_per_issuance'] for p in runs], 2)}"
            f" | {_median(busy, 0)}%"
            f" | {_spread([p.get('other_cores') for p in runs], 2)} |"
        )
    return "\n".join(rows)


def _row(point: dict) -> str:
    return point.get("row") or point["mode"]


def _med(points: list[dict], key: str) -> float | None:
    vals = [p[key] for p in points if p.get(key) is not None]
    return statistics.median(vals) if vals else None


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def peer_table(points: list[dict], peer: str, against: str = "auto-accept") -> str:
    """Markdown: per concurrency, ACMEEH's `against` row next to the peer's, from medians:
    throughput ratio (ACMEEH / peer) and CPU per issuance as a multiple of the peer's."""
    head = (
        f"| conc. | ACMEEH iss./s | {peer} iss./s | ratio | ACMEEH server CPU ms/iss."
        f" | {peer} server CPU ms/iss. | × | ACMEEH server+PostgreSQL ms/iss. | × |"
    )
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    levels = sorted({p["concurrency"] for p in points if _row(p) == peer})
    for conc in levels:
        ours = [p for p in points if _row(p) == against and p["concurrency"] == conc]
        theirs = [p for p in points if _row(p) == peer and p["concurrency"] == conc]
        if not ours or not theirs:
            continue
        rate, peer_rate = _med(ours, "issuances_per_sec"), _med(theirs, "issuances_per_sec")
        cpu, peer_cpu = _med(ours, "server_cpu_ms_per_issuance"), _med(
            theirs, "server_cpu_ms_per_issuance"
        )
        pg_cpu = _med(ours, "postgres_cpu_ms_per_issuance")
        both = cpu + pg_cpu if cpu is not None and pg_cpu is not None else None
        rows.append(
            f"| {conc} | {rate:.1f} | {peer_rate:.1f} | {_ratio(rate, peer_rate)}"
            f" | {_fmt(cpu)} | {_fmt(peer_cpu)} | {_ratio(cpu, peer_cpu)}"
            f" | {_fmt(both)} | {_ratio(both, peer_cpu)} |"
        )
    return "\n".join(rows)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def run_peer_point(args: argparse.Namespace, peer, conc: int, rep: int, workdir: Path) -> dict:
    """One point of the peer (always-valid: the generator's auto-accept mode)."""
    out = workdir / f"{args.peer}-c{conc}-r{rep}.json"
    point = partial(
        run_point, args, peer, None, 0, "auto-accept", conc, args.seconds, out, row=args.peer
    )
    return _least_disturbed(point, args.retry_disturbed)


def warm_up_peer(args: argparse.Namespace, peer, workdir: Path) -> None:
    if args.warmup > 0:
        out = workdir / "warmup-peer.json"
        run_point(args, peer, None, 0, "auto-accept", 4, args.warmup, out, label="peer warm-up")


def run_mode(
    args: argparse.Namespace, workdir: Path, pg, ca, mode: str, peer=None
) -> list[dict]:
    """Start a server configured for `mode`, warm it up, run every point, stop it. With a
    `peer`, each point is followed by the peer's point of the same concurrency."""
    http01_port, port = free_port(), free_port()
    database = pg.create_database(f"acmeeh_bench_{mode.replace('-', '_')}")
    config = acmeeh_config(
        port=port,
        database_url=database,
        ca=ca,
        http01_port=http01_port,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        auto_accept=mode == "auto-accept",
        pool_size=args.pool_size,
        log_level=args.log_level,
    )
    server = start_acmeeh(workdir / mode, config)
    points = []
    try:
        print(
            f"{mode}: gunicorn pid {server.pid}, {args.workers} x {args.worker_class}"
            f" (threads {args.threads}), log {server.log_path}",
            flush=True,
        )
        if args.warmup > 0:
            run_point(
                args,
                server,
                pg,
                http01_port,
                mode,
                4,
                args.warmup,
                workdir / "warmup.json",
                label=f"{mode} warm-up",
            )
            if peer is not None:
                warm_up_peer(args, peer, workdir)
        for conc in args.levels:
            for rep in range(args.repeats):
                out = workdir / f"{mode}-c{conc}-r{rep}.json"
                point = partial(
                    run_point, args, server, pg, http01_port, mode, conc, args.seconds, out
                )
                points.append(_least_disturbed(point, args.retry_disturbed))
                if peer is not None:
                    points.append(run_peer_point(args, peer, conc, rep, workdir))
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    bad = [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]
    if bad:
        print(f"{mode}: {len(bad)} ERROR/Traceback lines in {server.log_path}, e.g. {bad[0][:300]}")
    return points


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keep = args.workdir is not None
    workdir = Path(args.workdir) if keep else Path(tempfile.mkdtemp(prefix="acmeeh-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()},"
        f" Python {platform.python_version()}; workdir {workdir}",
        flush=True,
    )
    pg = start_postgres(workdir)
    points: list[dict] = []
    peer = None
    try:
        ca = generate_ca(workdir / "ca")
        if args.peer == "pebble":
            peer = pebble.start_pebble(workdir / "pebble")
            print(f"pebble: pid {peer.pid}, {peer.directory_url}, log {peer.log_path}", flush=True)
        for mode in args.mode_list:
            points += run_mode(
                args, workdir, pg, ca, mode, peer if mode == "auto-accept" else None
            )
        if peer is not None and "auto-accept" not in args.mode_list:
            warm_up_peer(args, peer, workdir)
            for conc in args.levels:
                for rep in range(args.repeats):
                    points.append(run_peer_point(args, peer, conc, rep, workdir))
    finally:
        if peer is not None:
            peer.stop()
        pg.stop()
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(points, indent=1))
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(
        f"{args.seconds:g} s per point, {args.repeats} repeat(s), medians (min–max);"
        f" server {args.workers} x {args.worker_class}, client {args.processes} processes"
    )
    print(table(points))
    if peer is not None:
        print()
        print(f"ACMEEH auto-accept against {args.peer} (always valid), same generator, same run:")
        print(peer_table(points, args.peer))
    return 0 if all(p["errors"] == 0 for p in points) else 1


if __name__ == "__main__":
    sys.exit(main())
