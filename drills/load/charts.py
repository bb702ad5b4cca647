"""Line charts drawn on the server as inline SVG: several series, axes with ticks, a legend.

No script, no style attribute and no external file (the pages' CSP allows them,
and the report file opens anywhere); colours are presentation attributes and
every label is escaped. ``svg_chart`` returns markup ready to insert.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 30
LEGEND_ROW = 16


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]
    color: str = ""
    dashed: bool = False
    extra: dict = field(default_factory=dict)


def nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 x 10^n) that cuts ``span`` into about ``ticks`` parts."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _label(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}" if value == int(value) else f"{value:.2g}"


def _axes(x_max: float, y_max: float, x_unit: str, unit: str) -> list[str]:
    """Grid lines and tick labels of both axes; returns SVG elements."""
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f"<line x1='{LEFT}' y1='{bottom}' x2='{right}' y2='{bottom}' stroke='#888'/>",
        f"<line x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{bottom}' stroke='#888'/>",
    ]
    step = nice_step(y_max, 4)
    value = 0.0
    while value <= y_max + 1e-9:
        y = bottom - (bottom - TOP) * value / y_max
        parts.append(
            f"<line x1='{LEFT}' y1='{y:.1f}' x2='{right}' y2='{y:.1f}' stroke='#e4e4e4'/>"
            f"<text x='{LEFT - 4}' y='{y + 3:.1f}' font-size='10' text-anchor='end' "
            f"fill='#444'>{_label(value)}</text>"
        )
        value += step
    step = nice_step(x_max, 6)
    value = 0.0
    while value <= x_max + 1e-9:
        x = LEFT + (right - LEFT) * value / x_max
        parts.append(
            f"<line x1='{x:.1f}' y1='{bottom}' x2='{x:.1f}' y2='{bottom + 4}' stroke='#888'/>"
            f"<text x='{x:.1f}' y='{bottom + 15}' font-size='10' text-anchor='middle' "
            f"fill='#444'>{_label(value)}</text>"
        )
        value += step
    parts.append(
        f"<text x='{right}' y='{HEIGHT - 2}' font-size='10' text-anchor='end' "
        f"fill='#444'>{html.escape(x_unit)}</text>"
        f"<text x='4' y='{TOP + 2}' font-size='10' fill='#444'>{html.escape(unit)}</text>"
    )
    return parts


def _legend(series: list[Series], top: float, max_label: str) -> tuple[list[str], float]:
    """Swatches and labels in rows under the plot; returns the elements and the height."""
    parts, x, y = [], float(LEFT), top
    for item in series:
        top_value = _label(max(p[1] for p in item.points))
        text = f"{item.label} ({max_label} {top_value})"
        width = 26 + 6.2 * len(text)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = float(LEFT), y + LEGEND_ROW
        dash = " stroke-dasharray='5 3'" if item.dashed else ""
        parts.append(
            f"<line x1='{x:.0f}' y1='{y - 4:.0f}' x2='{x + 18:.0f}' y2='{y - 4:.0f}' "
            f"stroke='{item.color}' stroke-width='2'{dash}/>"
            f"<text x='{x + 22:.0f}' y='{y:.0f}' font-size='11' fill='#222'>"
            f"{html.escape(text)}</text>"
        )
        x += width + 12
    return parts, y - top + LEGEND_ROW


def svg_chart(
    title: str,
    series: list[Series],
    unit: str = "",
    x_unit: str = "s",
    no_data: str = "no data",
    max_label: str = "max",
) -> str:
    """A line chart of ``series`` (each a list of ``(x, y)``) with axes and a legend."""
    for index, item in enumerate(series):
        item.color = item.color or PALETTE[index % len(PALETTE)]
    drawn = [item for item in series if item.points]
    caption = f"<figcaption>{html.escape(title)}</figcaption>"
    if not drawn:
        return f"<figure class='chart-figure'>{caption}<p>{html.escape(no_data)}</p></figure>"
    x_max = max(max(x for x, _ in item.points) for item in drawn) or 1.0
    y_top = max(max(y for _, y in item.points) for item in drawn) * 1.05 or 1.0
    y_max = nice_step(y_top, 4) * math.ceil(y_top / nice_step(y_top, 4))
    legend, legend_height = _legend(drawn, HEIGHT + 8, max_label)
    height = HEIGHT + legend_height + 4
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f"<svg class='chart' viewBox='0 0 {WIDTH} {height:.0f}' width='{WIDTH}' "
        f"height='{height:.0f}' role='img' xmlns='http://www.w3.org/2000/svg'>"
        f"<title>{html.escape(title)}</title>",
        *_axes(x_max, y_max, x_unit, unit),
    ]
    for item in drawn:
        line = " ".join(
            f"{LEFT + (right - LEFT) * x / x_max:.1f},{bottom - (bottom - TOP) * y / y_max:.1f}"
            for x, y in item.points
        )
        dash = " stroke-dasharray='5 3'" if item.dashed else ""
        parts.append(
            f"<polyline fill='none' stroke='{item.color}' stroke-width='1.5'{dash} "
            f"points='{line}'/>"
        )
    parts.extend(legend)
    parts.append("</svg>")
    return f"<figure class='chart-figure'>{caption}{''.join(parts)}</figure>"
