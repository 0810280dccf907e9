"""Helpers of the operations tests: HTTP GETs, Prometheus text, JSON log lines, bounded waits."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


# --- reading what a server exposes -----------------------------------------------------------
def get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 5.0
        ) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(url: str, **kwargs: Any) -> tuple[int, Any]:
    status, _headers, body = get(url, **kwargs)
    return status, json.loads(body)


def samples(text: str) -> dict[str, float]:
    """Prometheus text exposition → {'name{labels}': value} (labels as printed)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def total(values: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    found = 0.0
    for key, value in values.items():
        metric, _, rest = key.partition("{")
        if metric == name and all(w in rest for w in wanted):
            found += value
    return found


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a log file (other lines, e.g. a traceback, are skipped)."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
    """Seconds until `predicate()` held; AssertionError after `timeout` (bounded loop)."""
    started = time.monotonic()
    for _ in range(int(timeout / step) + 2):
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            break
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")
