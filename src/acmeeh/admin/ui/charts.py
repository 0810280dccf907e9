"""Bar charts as plain geometry for inline SVG (no script, no external asset): the template
draws one <rect> per bar with a <title> tooltip."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 1000, 160, 36, 22, 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    ticks: list[tuple[float, str]]  # (x, text) under the axis
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    base: int = HEIGHT - BOTTOM
    top: int = TOP

    @property
    def total(self) -> int:
        return sum(b.value for b in self.bars)


def bars(points: Sequence[tuple[str, int]], *, tick_every: int = 1,
         tick_labels: Sequence[str] | None = None) -> Chart:
    """One bar per (label, value), scaled to the highest value; a tick label every
    `tick_every` bars (from `tick_labels` when given, else the bar's label)."""
    peak = max((v for _, v in points), default=0)
    span = WIDTH - LEFT
    step = span / max(len(points), 1)
    room = HEIGHT - BOTTOM - TOP
    out, ticks = [], []
    for i, (label, value) in enumerate(points):
        h = room * value / peak if peak else 0.0
        x = LEFT + i * step
        out.append(Bar(round(x + step * 0.1, 2), round(HEIGHT - BOTTOM - h, 2),
                       round(max(step * 0.8, 1.0), 2), round(h, 2), label, value))
        if i % tick_every == 0:
            text = tick_labels[i] if tick_labels is not None else label
            ticks.append((round(x, 2), text))
    return Chart(out, peak, ticks)
