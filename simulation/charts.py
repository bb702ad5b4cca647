"""Charts drawn on the server as SVG (no script, no style attribute: the CSP allows them).

Colours are presentation attributes; labels are escaped. Each function
returns markup ready for the template (``mark_safe`` after escaping).
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BASELINE, WHAT_IF, GRID, TEXT = "#4a6fa5", "#e07b39", "#d0d7de", "#24292f"
ROW, LABEL_WIDTH, BAR_WIDTH = 26, 150, 360


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def bar_chart(rows: list[dict], *, unit: str, title: str, scale: float | None = None) -> SafeString:
    """Horizontal bars per work center: baseline, and the what-if under it when given.

    ``rows``: ``{"label", "base", "base_ci", "what_if", "what_if_ci"}``; the
    whisker is the 95 % confidence interval.
    """
    values = [r[k] or 0.0 for r in rows for k in ("base", "what_if") if r.get(k) is not None]
    top = scale or max([*values, 1e-9]) * 1.1
    paired = any(row.get("what_if") is not None for row in rows)
    step = ROW * (2 if paired else 1) + 8
    height = 30 + step * len(rows)
    width = LABEL_WIDTH + BAR_WIDTH + 70
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, row in enumerate(rows):
        y = 20 + index * step
        parts.append(
            f'<text x="0" y="{y + 16}" fill="{TEXT}" font-size="12">{escape(row["label"])}</text>'
        )
        series = [("base", BASELINE)] + ([("what_if", WHAT_IF)] if paired else [])
        for offset, (key, colour) in enumerate(series):
            parts.append(
                _bar(row.get(key), row.get(f"{key}_ci"), y + offset * ROW, top, colour, unit)
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _bar(value, ci, y: float, top: float, colour: str, unit: str) -> str:
    if value is None:
        return ""
    length = BAR_WIDTH * min(value / top, 1.0)
    bar = (
        f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}" '
        f'fill="{colour}"/>'
    )
    if ci:
        low = LABEL_WIDTH + BAR_WIDTH * max(value - ci, 0.0) / top
        high = LABEL_WIDTH + BAR_WIDTH * min((value + ci) / top, 1.0)
        middle = y + ROW / 2 - 1
        bar += f'<line x1="{low:.1f}" y1="{middle}" x2="{high:.1f}" y2="{middle}" stroke="{TEXT}"/>'
    label = f"{_number(value)} {escape(unit)}"
    bar += (
        f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 16}" font-size="11" '
        f'fill="{TEXT}">{label}</text>'
    )
    return bar


def line_chart(
    series: list[tuple[str, list[float], str]], *, title: str, step_hours: float
) -> SafeString:
    """Lines over time (e.g. work in progress per hour); ``series``: (name, values, colour)."""
    width, height, left, bottom = 620, 220, 40, 30
    longest = max((len(values) for _n, values, _c in series), default=0)
    top = max([value for _n, values, _c in series for value in values] + [1.0]) * 1.1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
        f'stroke="{GRID}"/>',
        f'<text x="0" y="14" font-size="11" fill="{TEXT}">{_number(top / 1.1, 0)}</text>',
    ]
    span = max(longest - 1, 1)
    for name_index, (name, values, colour) in enumerate(series):
        points = " ".join(
            f"{left + (width - left) * i / span:.1f},"
            f"{(height - bottom) - (height - bottom - 10) * value / top:.1f}"
            for i, value in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
        parts.append(
            f'<text x="{left + 10 + 160 * name_index}" y="{height - 8}" font-size="11" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    days = longest * step_hours / 24
    parts.append(
        f'<text x="{width - 90}" y="{height - 8}" font-size="11" fill="{TEXT}">'
        f"{_number(days, 0)} d</text></svg>"
    )
    return mark_safe("".join(parts))
