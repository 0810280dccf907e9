"""Profile the server during a load point with py-spy (pip install py-spy) and summarise it.

`record(pid, out, seconds)` samples the gunicorn master and all its workers (collapsed stacks);
`summary(out)` gives the hottest functions by own time and by inclusive time, and own time by
package, so one can see where a request's CPU goes. Profiled points cost CPU on the same cores:
take throughput figures from unprofiled runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
MAX_LINES = 2_000_000


def executable() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def record(
    pid: int, out: Path, seconds: float, *, gil: bool = True, rate: int = 100
) -> subprocess.Popen | None:
    """Start py-spy in the background (it stops by itself after `seconds`). With `gil`, only
    samples holding the GIL count (Python CPU); without, every non-idle thread (wall time,
    including waits for PostgreSQL)."""
    spy = executable()
    if spy is None:
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return None
    command = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--nonblocking",
        "--function",
        "--rate",
        str(rate),
        "--duration",
        str(max(1, int(seconds))),
        "--format",
        "raw",
        "--output",
        str(out),
    ] + (["--gil"] if gil else [])
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip().rpartition(" ")
    frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
    return frames, int(count) if count.isdigit() else 0


def package(frame: str) -> str:
    """The package or acmeeh room a frame's file belongs to."""
    m = FRAME.match(frame)
    path = m.group("file") if m else frame
    parts = Path(path).parts
    if "site-packages" in parts:  # absolute paths: keep what follows site-packages
        parts = parts[parts.index("site-packages") + 1 :]
    elif "acmeeh" in parts:
        parts = parts[parts.index("acmeeh") :]
    if not parts:
        return "?"
    if parts[0] == "acmeeh" and len(parts) > 2:
        return f"acmeeh.{parts[1]}"
    # py-spy prints paths relative to sys.path: "psycopg/cursor.py" or stdlib "threading.py"
    return (
        parts[0].removesuffix(".py") if len(parts) > 1 else f"stdlib:{parts[0].removesuffix('.py')}"
    )


# Own time by layer: who the server's CPU goes to, beyond single functions.
LAYERS = {
    "HTTP server and framework": (
        "gunicorn", "werkzeug", "flask", "concurrent", "stdlib:selectors", "stdlib:threading",
        "stdlib:socket", "email", "urllib", "blinker", "itsdangerous", "markupsafe",
    ),
    "database driver and pool": ("psycopg", "psycopg_pool"),
    "JWS and X.509 crypto": ("cryptography", "josepy"),
    "metrics and logging": ("prometheus_client", "logging", "stdlib:logging"),
}


def layer(package_name: str) -> str:
    if package_name.startswith("acmeeh"):
        return "acmeeh's own code"
    for name, packages in LAYERS.items():
        if package_name in packages:
            return name
    return "other (json, uuid, hmac, ...)"


def summary(raw: Path, top: int = 15) -> str:
    """Text: total samples, top own-time and inclusive-time functions, own time by package."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    with raw.open() as fh:
        for n, line in enumerate(fh):
            if n >= MAX_LINES:
                break
            frames, count = _frames(line)
            if not frames or not count:
                continue
            total += count
            own[frames[-1]] += count
            packages[package(frames[-1])] += count
            for frame in set(frames):
                inclusive[frame] += count
    if not total:
        return f"{raw}: no samples"

    def block(title: str, counter: Counter) -> list[str]:
        lines = [title]
        for name, count in counter.most_common(top):
            lines.append(f"  {100.0 * count / total:5.1f}%  {name}")
        return lines

    out = [f"{raw}: {total} samples"]
    out += block(f"top {top} by own time:", own)
    out += block(f"top {top} by inclusive time:", inclusive)
    ours = Counter({f: c for f, c in inclusive.items() if "acmeeh/" in f})
    out += block(f"top {top} acmeeh functions by inclusive time:", ours)
    out += block("own time by package:", packages)
    layers: Counter[str] = Counter()
    for name, count in packages.items():
        layers[layer(name)] += count
    out += block("own time by layer:", layers)
    return "\n".join(out)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(summary(Path(name)))
