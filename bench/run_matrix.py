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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pebble
import pyspy
from harness import (
    ROOT,
    AcmeehServer,
    acmeeh_config,
    free_port,
    generate_ca,
    parse_overrides,
    start_acmeeh,
    start_postgres,
)
from procstat import wait_quiet
from tables import peer_table, table, variant_table

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
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="configuration override for every ACMEEH server (dotted key, YAML value), e.g."
        " database.prepare_threshold=null; repeatable",
    )
    p.add_argument(
        "--variant",
        action="append",
        metavar="KEY=VALUE",
        help="A/B in one run: also start a server B with this override (repeatable) and run"
        " each of its points right after the baseline's (A), alternating the order",
    )
    p.add_argument(
        "--variant-src",
        metavar="CHECKOUT",
        help="A/B in one run: server B runs the code of this checkout (its src/), e.g. a git"
        " worktree of the commit before a change",
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
    args.overrides = parse_overrides(args.set)
    args.variant_overrides = parse_overrides(args.variant)
    args.variant_text = ", ".join(
        [*(args.variant or []), *([f"src {args.variant_src}"] if args.variant_src else [])]
    )
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


@dataclass
class Target:
    """One ACMEEH server of a mode: the baseline (row = mode) or the variant (row "mode B")."""

    server: AcmeehServer
    http01_port: int
    row: str


def start_target(
    args: argparse.Namespace, workdir: Path, pg, ca, mode: str, variant: bool
) -> Target:
    http01_port, port = free_port(), free_port()
    tag = f"{mode}-B" if variant else mode
    database = pg.create_database("acmeeh_bench_" + tag.replace("-", "_").lower())
    overrides = {**args.overrides, **(args.variant_overrides if variant else {})}
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
        overrides=overrides,
    )
    root = Path(args.variant_src) if variant and args.variant_src else ROOT
    server = start_acmeeh(workdir / tag, config, root)
    print(
        f"{tag}: gunicorn pid {server.pid}, {args.workers} x {args.worker_class}"
        f" (threads {args.threads}), src {root / 'src'}, overrides {overrides or 'none'},"
        f" log {server.log_path}",
        flush=True,
    )
    return Target(server, http01_port, f"{mode} B" if variant else mode)


def run_mode(args: argparse.Namespace, workdir: Path, pg, ca, mode: str, peer=None) -> list[dict]:
    """Start the server(s) configured for `mode`, warm them up, run every point, stop them.
    With a variant, its point follows the baseline's (the order alternates between repeats);
    with a `peer`, the peer's point of the same concurrency comes last."""
    targets: list[Target] = []
    points = []
    try:
        targets.append(start_target(args, workdir, pg, ca, mode, variant=False))
        if args.variant_overrides or args.variant_src:
            targets.append(start_target(args, workdir, pg, ca, mode, variant=True))
        if args.warmup > 0:
            for t in targets:
                out = workdir / "warmup.json"
                run_point(
                    args,
                    t.server,
                    pg,
                    t.http01_port,
                    mode,
                    4,
                    args.warmup,
                    out,
                    label=f"{t.row} warm-up",
                )
            if peer is not None:
                warm_up_peer(args, peer, workdir)
        for conc in args.levels:
            for rep in range(args.repeats):
                for t in targets if rep % 2 == 0 else targets[::-1]:
                    out = workdir / f"{t.row.replace(' ', '-')}-c{conc}-r{rep}.json"
                    point = partial(
                        run_point,
                        args,
                        t.server,
                        pg,
                        t.http01_port,
                        mode,
                        conc,
                        args.seconds,
                        out,
                        row=t.row,
                    )
                    points.append(_least_disturbed(point, args.retry_disturbed))
                if peer is not None:
                    points.append(run_peer_point(args, peer, conc, rep, workdir))
    finally:
        for t in targets:
            t.server.stop()
    for t in targets:
        log = t.server.log_path.read_text(errors="replace")
        bad = [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]
        if bad:
            print(
                f"{t.row}: {len(bad)} ERROR/Traceback lines in {t.server.log_path},"
                f" e.g. {bad[0][:300]}"
            )
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
            points += run_mode(args, workdir, pg, ca, mode, peer if mode == "auto-accept" else None)
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
    if args.variant_overrides or args.variant_src:
        for mode in args.mode_list:
            print()
            print(f"{mode}: A = baseline, B = variant ({args.variant_text}), alternating:")
            print(variant_table(points, mode, f"{mode} B"))
    if peer is not None:
        print()
        print(f"ACMEEH auto-accept against {args.peer} (always valid), same generator, same run:")
        print(peer_table(points, args.peer))
    return 0 if all(p["errors"] == 0 for p in points) else 1


if __name__ == "__main__":
    sys.exit(main())
