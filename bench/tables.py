"""The Markdown tables run_matrix prints: the matrix (medians with min–max over repeats), ACMEEH
against a peer (Pebble) and a baseline against a variant, all from loadgen's JSON summaries."""

from __future__ import annotations

import statistics


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
        cpu, peer_cpu = (
            _med(ours, "server_cpu_ms_per_issuance"),
            _med(theirs, "server_cpu_ms_per_issuance"),
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


def _change(a: float | None, b: float | None) -> str:
    return f"{(b - a) / a * 100:+.0f}%" if a is not None and b is not None and a else "n/a"


def variant_table(points: list[dict], base: str, variant: str) -> str:
    """Markdown: per concurrency, the baseline's medians next to the variant's (runs made
    alternately in one run) and the change, for throughput and CPU per issuance."""
    head = (
        "| conc. | iss./s A | iss./s B | change | server CPU ms/iss. A | B | change"
        " | PostgreSQL CPU ms/iss. A | B | change | other load A / B |"
    )
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    for conc in sorted({p["concurrency"] for p in points if _row(p) == variant}):
        a = [p for p in points if _row(p) == base and p["concurrency"] == conc]
        b = [p for p in points if _row(p) == variant and p["concurrency"] == conc]
        if not a or not b:
            continue
        cells = [str(conc)]
        for key in (
            "issuances_per_sec",
            "server_cpu_ms_per_issuance",
            "postgres_cpu_ms_per_issuance",
        ):
            ma, mb = _med(a, key), _med(b, key)
            cells += [_fmt(ma), _fmt(mb), _change(ma, mb)]
        cells.append(f"{_fmt(_med(a, 'other_cores'))} / {_fmt(_med(b, 'other_cores'))}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
