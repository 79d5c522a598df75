"""Charts as inline SVG, drawn on the server: no script, no external file, no style
attribute (the CSP forbids them; SVG presentation attributes such as ``fill`` are fine).

Each function returns markup ready for a template. Every text in it is escaped; each
chart carries a ``<title>`` and a description, and each bar a tooltip with its figure.
Pages put the same numbers in a table next to the chart for screen readers and print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = [
    "PALETTE",
    "Series",
    "bar_list",
    "nice_ceiling",
    "sparkline",
    "stacked_columns",
    "swatch",
]

# Tableau 10: distinct colours that stay apart for most colour-blind readers, with a
# legend and tooltips for the rest.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
INK = "#111111"
GRID = "#d0d0d0"
BAR = "#0b3d91"
FONT = "system-ui, sans-serif"


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked part of the columns: a category with its colour."""

    key: str
    label: str
    colour: str


def nice_ceiling(value: int) -> tuple[int, int]:
    """A round top for an axis at or above ``value``, and the step between gridlines
    (1, 2 or 5 times a power of ten, at most five steps)."""
    if value <= 0:
        return 1, 1
    power = 10 ** max(0, math.floor(math.log10(value)) - 1)
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            if math.ceil(value / step) <= 5:
                return math.ceil(value / step) * step, step
        power *= 10


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open_svg(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="{FONT}" font-size="12">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]


def stacked_columns(
    chart_id: str,
    title: str,
    description: str,
    columns: Sequence[tuple[str, dict[str, int]]],
    series: Sequence[Series],
) -> Markup:
    """Columns (e.g. weeks) of stacked parts (e.g. categories), with a y axis."""
    width, height = 720, 280
    left, right, top, bottom = 44, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(counts.get(s.key, 0) for s in series) for _, counts in columns]
    top_value, step = nice_ceiling(max(totals, default=0))
    parts = _open_svg(chart_id, width, height, title, description)
    for tick in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" fill="{INK}">{tick}</text>'
        )
    slot = plot_w / max(1, len(columns))
    bar_w = slot * 0.7
    for index, (label, counts) in enumerate(columns):
        x = left + slot * index + (slot - bar_w) / 2
        y = top + plot_h
        for part in series:
            count = counts.get(part.key, 0)
            if not count:
                continue
            h = plot_h * count / top_value
            y -= h
            parts.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                f'fill="{escape(part.colour)}" stroke="#ffffff" stroke-width="0.5">'
                f"<title>{escape(label)} · {escape(part.label)}: {count}</title></rect>"
            )
        parts.append(
            f'<text x="{_num(left + slot * index + slot / 2)}" y="{height - bottom + 16}" '
            f'text-anchor="middle" fill="{INK}">{escape(label)}</text>'
        )
        if totals[index]:
            parts.append(
                f'<text x="{_num(left + slot * index + slot / 2)}" y="{_num(y - 3)}" '
                f'text-anchor="middle" fill="{INK}" font-size="11">{totals[index]}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def bar_list(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, int]],
    *,
    muted: Sequence[bool] = (),
    shown_values: Sequence[str] = (),
) -> Markup:
    """Horizontal bars, one per row, with the label on the left and the figure at the
    end; a ``muted`` row (e.g. "commune not known") is drawn in grey. ``shown_values``
    replaces the figures written (e.g. "<5" in published figures)."""
    label_w, bar_space, row_h, top = 230, 430, 24, 6
    width = label_w + bar_space + 40
    height = top * 2 + row_h * max(1, len(rows))
    biggest = max((count for _, count in rows), default=0) or 1
    parts = _open_svg(chart_id, width, height, title, description)
    for index, (label, count) in enumerate(rows):
        y = top + row_h * index
        grey = index < len(muted) and muted[index]
        shown = label if len(label) <= 34 else label[:33] + "…"
        bar = bar_space * count / biggest
        figure = shown_values[index] if index < len(shown_values) else str(count)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{INK}">'
            f"{escape(shown)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{_num(max(bar, 1 if count else 0))}" '
            f'height="{row_h - 8}" fill="{"#8a8a8a" if grey else BAR}">'
            f"<title>{escape(label)}: {escape(figure)}</title></rect>"
            f'<text x="{_num(label_w + bar + 6)}" y="{y + 16}" fill="{INK}">{escape(figure)}</text>'
        )
    parts.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{height - top}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def sparkline(label: str, values: Sequence[int], *, top_value: int | None = None) -> Markup:
    """A small column chart of a few values (e.g. months), with a text alternative;
    ``top_value`` shares one scale between the rows of a table."""
    width, height, gap = 96, 24, 2
    top_value = max(top_value or 0, max(values, default=0), 1)
    bar_w = (width - gap * (len(values) - 1)) / max(1, len(values))
    figures = ", ".join(str(v) for v in values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}: {escape(figures)}">',
        f'<line x1="0" x2="{width}" y1="{height - 0.5}" y2="{height - 0.5}" '
        f'stroke="{GRID}" stroke-width="1"/>',
    ]
    for index, value in enumerate(values):
        h = (height - 2) * value / top_value
        x = index * (bar_w + gap)
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(height - 1 - h)}" width="{_num(bar_w)}" '
            f'height="{_num(h)}" fill="{BAR}"><title>{value}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def swatch(colour: str) -> Markup:
    """A small square of a series' colour for a legend."""
    return Markup(  # noqa: S704 - the colour is escaped
        '<svg xmlns="http://www.w3.org/2000/svg" class="swatch" viewBox="0 0 12 12" '
        f'width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'fill="{escape(colour)}" stroke="{INK}" stroke-width="0.5"/></svg>'
    )
