"""CPU accounting from /proc (Linux): a process tree, a PostgreSQL cluster, the whole machine.

A tree's CPU is the utime+stime of every live member plus the cutime+cstime each member
collected from children it already reaped, so short-lived children are counted too. Take a
sample before and after a run and subtract. (A worker that is replaced mid-run brings its whole
lifetime into its parent's cutime; the run log says when that happens.)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
MAX_PROCESSES = 100_000  # bound on the /proc scan


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    ticks: int  # utime + stime + cutime + cstime


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def read_stat(pid: int) -> Stat | None:
    """One /proc/<pid>/stat line; None if the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the LAST ')'.
    fields = text[text.rfind(")") + 2 :].split()
    # fields[0] is state (3); ppid is field 4; utime..cstime are fields 14-17.
    ppid = int(fields[1])
    ticks = sum(int(v) for v in fields[11:15])
    return Stat(pid, ppid, ticks)


def all_stats() -> dict[int, Stat]:
    stats: dict[int, Stat] = {}
    for count, entry in enumerate(PROC.iterdir()):
        if count >= MAX_PROCESSES:
            break
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            stats[stat.pid] = stat
    return stats


def tree_pids(root: int, stats: dict[int, Stat] | None = None) -> list[int]:
    """`root` and all its live descendants."""
    stats = stats if stats is not None else all_stats()
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found: list[int] = []
    todo = [root] if root in stats else []
    while todo and len(found) < MAX_PROCESSES:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(root: int | None) -> float | None:
    """CPU seconds used so far by `root` and its descendants (None if no root / gone)."""
    if root is None:
        return None
    stats = all_stats()
    pids = tree_pids(root, stats)
    if not pids:
        return None
    return sum(stats[pid].ticks for pid in pids) / clock_ticks()


def postmaster_pid(pgdata: str | os.PathLike[str]) -> int | None:
    """The postmaster of `pgdata`: first line of postmaster.pid, else a process whose
    command line names the data directory."""
    path = Path(pgdata)
    try:
        return int((path / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        pass
    needle = str(path.resolve()).encode()
    for count, entry in enumerate(PROC.iterdir()):
        if count >= MAX_PROCESSES:
            break
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # only the postmaster names its data directory (-D); backends rename themselves
        if needle in cmdline and b"postgres" in cmdline:
            return int(entry.name)
    return None


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot, from the first line of /proc/stat."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - idle, total


@dataclass(frozen=True)
class Sample:
    """CPU seconds of the server tree and the PostgreSQL tree, plus the machine's jiffies."""

    server: float | None
    postgres: float | None
    machine_busy: int
    machine_total: int


def sample(server_pid: int | None, pg_pid: int | None) -> Sample:
    busy, total = machine_ticks()
    return Sample(tree_cpu_seconds(server_pid), tree_cpu_seconds(pg_pid), busy, total)


def delta(before: Sample, after: Sample) -> dict[str, float | None]:
    """Seconds used between two samples, and the machine's busy share (0..1)."""

    def sub(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else max(0.0, b - a)

    total = after.machine_total - before.machine_total
    busy = after.machine_busy - before.machine_busy
    return {
        "server_cpu_s": sub(before.server, after.server),
        "postgres_cpu_s": sub(before.postgres, after.postgres),
        "machine_busy": busy / total if total > 0 else None,
        "machine_busy_s": busy / clock_ticks(),  # summed over all CPUs
    }


def machine_busy_share(seconds: float) -> float:
    """How busy all CPUs together were (0..1) over the next `seconds`."""
    busy0, total0 = machine_ticks()
    time.sleep(seconds)
    busy1, total1 = machine_ticks()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def wait_quiet(limit: float, threshold: float = 0.15) -> bool:
    """Wait (at most `limit` seconds) until the machine is less than `threshold` busy over 1 s,
    so that other jobs do not distort a measurement; False (and a printed warning) if never."""
    deadline, share = time.monotonic() + limit, 1.0
    while time.monotonic() < deadline:
        share = machine_busy_share(1.0)
        if share < threshold:
            return True
    if limit > 0:
        print(
            f"  warning: machine still {share:.0%} busy with other work after {limit:.0f} s",
            flush=True,
        )
    return False
