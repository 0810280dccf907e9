"""What the admin CLI prints: aligned tables and key/value blocks for people, the API's own
JSON with --json for scripts."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

Cell = str | Callable[[Mapping[str, Any]], Any]
Column = tuple[str, Cell]  # (header, key of the item or a function of it)
MAX_CELL = 60


def when(value: Any) -> str:
    """RFC 3339 → "2026-01-02 03:04:05Z" (seconds, UTC as sent); "-" for null."""
    if not value:
        return "-"
    text = str(value).replace("T", " ")
    head, dot, rest = text.partition(".")
    if dot:
        text = head + ("Z" if rest.endswith("Z") else "")
    return text


def text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _cell(item: Mapping[str, Any], cell: Cell) -> str:
    value = cell(item) if callable(cell) else item.get(cell)
    shown = text(value).replace("\n", " ")
    return shown if len(shown) <= MAX_CELL else shown[: MAX_CELL - 1] + "…"


def table(items: Sequence[Mapping[str, Any]], columns: Sequence[Column],
          out: TextIO | None = None) -> None:
    """One row per item under a header; "(none)" for an empty list."""
    out = out or sys.stdout
    if not items:
        print("(none)", file=out)
        return
    rows = [[header for header, _ in columns]]
    rows += [[_cell(item, cell) for _, cell in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)


def fields(item: Mapping[str, Any], names: Iterable[Column], out: TextIO | None = None) -> None:
    """`label: value` lines, labels aligned."""
    out = out or sys.stdout
    pairs = [(label, _full(item, cell)) for label, cell in names]
    width = max((len(label) for label, _ in pairs), default=0)
    for label, value in pairs:
        print(f"{(label + ':').ljust(width + 1)} {value}", file=out)


def _full(item: Mapping[str, Any], cell: Cell) -> str:
    return text(cell(item) if callable(cell) else item.get(cell))


def as_json(data: Any, out: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2, sort_keys=False), file=out or sys.stdout)


def note(message: str) -> None:
    """A remark for people (stderr, so stdout stays parseable)."""
    print(message, file=sys.stderr)
