"""Key paths as operators read them: server.port, challenges.enabled[0], (root)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ROOT = "(root)"


def format_path(path: Iterable[Any]) -> str:
    """("server", "port") → "server.port"; indices as [0]; the empty path → "(root)"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or ROOT
