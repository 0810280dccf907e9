"""Percentiles, the run summary (JSON-ready) and its text rendering, ending in the RESULT line."""

from __future__ import annotations

import math
from typing import Any

from client_flow import Recorder
from pgstat import split_scans

# The order requests happen in a flow; anything else is listed after these.
REQUEST_ORDER = (
    "directory",
    "newAccount",
    "newNonce",
    "newOrder",
    "authz",
    "challenge",
    "authzPoll",
    "finalize",
    "orderPoll",
    "certificate",
)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `values`; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def distribution(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


def per_issuance_ms(seconds: float | None, issuances: int) -> float | None:
    if seconds is None or issuances == 0:
        return None
    return seconds * 1000.0 / issuances


def summarize(
    rec: Recorder,
    *,
    elapsed: float,
    concurrency: int,
    processes: int,
    mode: str,
    client_cpu_s: float,
    cpu: dict[str, float | None],
) -> dict[str, Any]:
    """The whole run as plain data (what --json-out writes and run_matrix reads)."""
    issuances = len(rec.flows_ms)
    kinds = sorted(
        rec.latencies,
        key=lambda k: (REQUEST_ORDER.index(k) if k in REQUEST_ORDER else len(REQUEST_ORDER), k),
    )
    flows = distribution(rec.flows_ms)
    return {
        "mode": mode,
        "concurrency": concurrency,
        "processes": processes,
        "elapsed_s": elapsed,
        "issuances": issuances,
        "issuances_per_sec": issuances / elapsed if elapsed > 0 else 0.0,
        "flow_ms": flows,
        "requests": {k: distribution(rec.latencies[k]) for k in kinds},
        "errors": sum(rec.errors.values()),
        "errors_by_type": dict(rec.errors),
        "problems_seen": dict(rec.problems_seen),
        "throttled": dict(rec.throttled),
        "error_details": rec.details,
        "client_cpu_s": client_cpu_s,
        "server_cpu_s": cpu.get("server_cpu_s"),
        "other_cores": _other_cores(cpu, client_cpu_s, elapsed),
        "postgres_cpu_s": cpu.get("postgres_cpu_s"),
        "machine_busy": cpu.get("machine_busy"),
        "client_cpu_ms_per_issuance": per_issuance_ms(client_cpu_s, issuances),
        "server_cpu_ms_per_issuance": per_issuance_ms(cpu.get("server_cpu_s"), issuances),
        "postgres_cpu_ms_per_issuance": per_issuance_ms(cpu.get("postgres_cpu_s"), issuances),
    }


def _other_cores(cpu: dict[str, float | None], client_cpu_s: float, elapsed: float) -> float | None:
    """CPU the machine spent on anything but client, server and PostgreSQL, in cores: a
    disturbed run (another job on the machine) shows here."""
    busy = cpu.get("machine_busy_s")
    if busy is None or elapsed <= 0:
        return None
    ours = client_cpu_s + (cpu.get("server_cpu_s") or 0.0) + (cpu.get("postgres_cpu_s") or 0.0)
    return max(0.0, busy - ours) / elapsed


def _num(value: float | None, digits: int = 1) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def result_line(summary: dict[str, Any]) -> str:
    """The one machine-readable line every run ends with."""
    return (
        f"RESULT issuances_per_sec={_num(summary['issuances_per_sec'])}"
        f" p99_flow_ms={_num(summary['flow_ms']['p99'])}"
        f" errors={summary['errors']}"
        f" server_cpu_ms_per_issuance={_num(summary['server_cpu_ms_per_issuance'], 2)}"
    )


def render(summary: dict[str, Any]) -> str:
    """Human-readable report; the last line is result_line()."""
    s = summary
    lines = [
        (
            f"mode={s['mode']} concurrency={s['concurrency']} processes={s['processes']}"
            f" elapsed={s['elapsed_s']:.2f}s issuances={s['issuances']}"
            f" issuances/s={s['issuances_per_sec']:.1f}"
        ),
        "",
        f"{'request':<12} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}",
    ]
    rows = [*s["requests"].items(), ("FLOW", s["flow_ms"])]
    for kind, d in rows:
        lines.append(
            f"{kind:<12} {d['count']:>7} {_num(d['p50']):>8} {_num(d['p95']):>8}"
            f" {_num(d['p99']):>8} {_num(d['max']):>8}"
        )
    lines.append("")
    lines.append(f"errors: {s['errors']} {s['errors_by_type'] or ''}")
    lines += [f"  {d}" for d in s["error_details"]]
    if s["problems_seen"]:
        lines.append(f"problem answers seen (incl. retried): {s['problems_seen']}")
    if s["throttled"]:
        lines.append(f"throttled (429/503 + Retry-After, retried): {s['throttled']}")
    busy = s["machine_busy"]
    lines.append(
        f"cpu seconds: client={_num(s['client_cpu_s'], 2)} server={_num(s['server_cpu_s'], 2)}"
        f" postgres={_num(s['postgres_cpu_s'], 2)}"
        f" machine busy={'nan' if busy is None else f'{busy * 100:.0f}%'}"
        f" other load={_num(s['other_cores'], 2)} cores"
    )
    lines.append(
        f"cpu ms per issuance: client={_num(s['client_cpu_ms_per_issuance'], 2)}"
        f" server={_num(s['server_cpu_ms_per_issuance'], 2)}"
        f" postgres={_num(s['postgres_cpu_ms_per_issuance'], 2)}"
    )
    if s.get("postgres_per_issuance"):
        counters, scans = split_scans(s["postgres_per_issuance"])
        lines.append(
            "postgresql per issuance: "
            + " ".join(f"{k}={v:.1f}" for k, v in counters.items() if k != "wal_bytes")
            + f" wal_kB={counters.get('wal_bytes', 0) / 1024:.1f}"
        )
        lines.append(
            "sequential scans per issuance: "
            + (", ".join(f"{t} {n:.2f} ({r:,.0f} rows)" for t, (n, r) in scans.items()) or "none")
        )
    lines.append(result_line(s))
    return "\n".join(lines)
