"""A small server-rendered line chart in SVG: no JavaScript, no external files, no inline styles.

The chart names itself for assistive technology (``role="img"`` with a ``<title>`` and a
``<desc>``); pages show the same figures in a table as well. Text is 14 units high in a 640-unit
wide drawing; the page keeps the drawing at least 640 pixels wide (scrolling on small screens), so
the text is never smaller than 14 pixels. Colours reach 4.5:1 on white, and the series differ by
dash pattern and marker shape too, not by colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 44, 36
FONT_SIZE = 14
INK = "#1a1a1a"
GRID = "#d0d0d0"
# (stroke colour, dash pattern): blue 7.8:1 and brown 6.8:1 against white.
STYLES = (("#0b5394", ""), ("#9c3d00", "7 4"))
MAX_X_LABELS = 7
MARKERS_UP_TO = 45  # points; more would crowd the line


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Round gridline values from 0 to at least ``maximum`` (1, 2 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
) -> Markup:
    """An accessible line chart of ``series`` (same length as ``x_labels``), as SVG markup."""
    points = len(x_labels)
    ticks = nice_ticks(max((max(s.values, default=0) for s in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(index: int) -> float:
        return LEFT + (plot_w / 2 if points <= 1 else plot_w * index / (points - 1))

    def y_at(value: int) -> float:
        return TOP + plot_h - plot_h * value / ticks[-1]

    ident = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" font-family="system-ui, '
        f'sans-serif" font-size="{FONT_SIZE}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for tick in ticks:
        y = y_at(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 8}" y="{y + 5:.1f}" text-anchor="end" fill="{INK}">{tick}</text>'
        )
    every = max(1, math.ceil(points / MAX_X_LABELS))
    for index in range(0, points, every):
        # The last label ends at its point, so it stays inside the picture.
        anchor = "end" if index == points - 1 and points > 1 else "middle"
        parts.append(
            f'<text x="{x_at(index):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}" '
            f'fill="{INK}">{escape(x_labels[index])}</text>'
        )
    for number, one in enumerate(series):
        colour, dash = STYLES[number % len(STYLES)]
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(one.values))
        if points > 1:
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dashes}/>'
            )
        if points <= MARKERS_UP_TO:
            parts.extend(
                _marker(number, x_at(i), y_at(v), colour) for i, v in enumerate(one.values)
            )
        parts.append(_legend(number, one.label, colour, dashes))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)


def _marker(number: int, x: float, y: float, colour: str) -> str:
    """A circle for the first series, a square for the second: shape tells them apart."""
    if number % 2 == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
    return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'


def _legend(number: int, label: str, colour: str, dashes: str) -> str:
    x = LEFT + number * 220
    y = 18
    return (
        f'<line x1="{x}" x2="{x + 32}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2.5"'
        f"{dashes}/>{_marker(number, x + 16, y, colour)}"
        f'<text x="{x + 40}" y="{y + 5}" fill="{INK}">{escape(label)}</text>'
    )
