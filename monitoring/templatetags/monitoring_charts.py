"""Charts drawn on the server as inline SVG, and the small formats of the monitoring pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from mes.roles import Role
from monitoring import labels
from monitoring.reports import recommendation_text
from monitoring.stalls import StallReason

register = template.Library()

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 10, 24
SERIES = (
    ("cpu_percent", "chart-cpu", "CPU"),
    ("memory_percent", "chart-memory", "memory"),
    ("disk_percent", "chart-disk", "disk"),
)


def _x(moment: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds() or 1.0
    return LEFT + (moment - start).total_seconds() / span * (WIDTH - LEFT - RIGHT)


def _y(percent: float) -> float:
    percent = min(max(percent, 0.0), 100.0)
    return TOP + (100.0 - percent) / 100.0 * (HEIGHT - TOP - BOTTOM)


@register.simple_tag
def resource_chart(samples, start: datetime, end: datetime, watermarks: dict) -> SafeString:
    """CPU, memory and disk (percent) over [start, end), with the watermarks drawn."""
    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}">{}%</text>',
        (
            (LEFT, WIDTH - RIGHT, _y(value), _y(value), 2, _y(value) + 4, value)
            for value in (0, 50, 100)
        ),
    )
    marks = format_html_join(
        "",
        '<line class="chart-mark chart-mark-{}" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-mark-label chart-mark-{}" x="{}" y="{}">{} {}%</text>',
        (
            (
                level.lower(),
                LEFT,
                WIDTH - RIGHT,
                f"{_y(value):.1f}",
                f"{_y(value):.1f}",
                level.lower(),
                WIDTH - RIGHT - 52,
                f"{_y(value) - 2:.1f}",
                level,
                int(value),
            )
            for level, value in sorted(watermarks.items())
        ),
    )
    lines = []
    for attribute, css, _name in SERIES:
        points = " ".join(
            f"{_x(sample.sampled_at, start, end):.1f},{_y(getattr(sample, attribute)):.1f}"
            for sample in samples
        )
        if points:
            lines.append(format_html('<polyline class="{}" points="{}"/>', css, points))
    hours = int((end - start).total_seconds() // 3600)
    ticks = format_html_join(
        "",
        '<text class="chart-axis" x="{}" y="{}">{}</text>',
        (
            (
                f"{_x(start + timedelta(hours=hour), start, end) - 12:.1f}",
                HEIGHT - 6,
                f"-{hours - hour}h",
            )
            for hour in range(0, hours + 1, max(hours // 4, 1))
        ),
    )
    title = _("CPU, memory and disk usage in percent, with the watermarks")
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}{}{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        grid,
        marks,
        mark_safe("".join(lines)),  # each part built with format_html above
        ticks,
    )


@register.simple_tag
def hours_bar_chart(rows) -> SafeString:
    """Daily running hours per work center: this period's bar over the previous period's."""
    rows = list(rows)
    if not rows:
        return mark_safe("")
    top = max([row["current"] or 0 for row in rows] + [row["previous"] or 0 for row in rows] + [1])
    bar_height, gap, label_width, width = 12, 10, 120, 640
    scale = (width - label_width - 60) / top
    parts = []
    for index, row in enumerate(rows):
        y = index * (2 * bar_height + gap) + 4
        parts.append(
            format_html(
                '<text class="chart-axis" x="0" y="{}">{}</text>'
                '<rect class="chart-previous" x="{}" y="{}" width="{}" height="{}"/>'
                '<rect class="chart-current" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="chart-axis" x="{}" y="{}">{} h</text>',
                y + bar_height + 4,
                row["work_center"],
                label_width,
                y,
                f"{(row['previous'] or 0) * scale:.1f}",
                bar_height,
                label_width,
                y + bar_height,
                f"{(row['current'] or 0) * scale:.1f}",
                bar_height,
                f"{label_width + (row['current'] or 0) * scale + 4:.1f}",
                y + 2 * bar_height - 2,
                f"{row['current'] or 0:.1f}",
            )
        )
    height = len(rows) * (2 * bar_height + gap) + 8
    return format_html(
        '<svg class="chart chart-bars" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        width,
        height,
        _("Daily running hours per work center: this period (dark) and the period before (light)"),
        mark_safe("".join(parts)),  # each part built with format_html above
    )


@register.simple_tag
def causes_chart(rows) -> SafeString:
    """The week's incidents per cause: all (light) and the A/B ones among them (dark)."""
    rows = list(rows)
    top = max([row["count"] for row in rows] + [1])
    bar_height, gap, label_width, width = 16, 8, 250, 640
    scale = (width - label_width - 50) / top
    parts = []
    for index, row in enumerate(rows):
        y = index * (bar_height + gap) + 4
        parts.append(
            format_html(
                '<text class="chart-axis" x="0" y="{}">{}</text>'
                '<rect class="chart-previous" x="{}" y="{}" width="{}" height="{}"/>'
                '<rect class="chart-current" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="chart-axis" x="{}" y="{}">{}</text>',
                y + bar_height - 3,
                cause_label(row["cause"]),
                label_width,
                y,
                f"{row['count'] * scale:.1f}",
                bar_height,
                label_width,
                y,
                f"{row['serious'] * scale:.1f}",
                bar_height,
                f"{label_width + row['count'] * scale + 4:.1f}",
                y + bar_height - 3,
                row["count"],
            )
        )
    height = len(rows) * (bar_height + gap) + 8
    return format_html(
        '<svg class="chart chart-bars" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        width,
        height,
        _("Incidents of the week per cause: all (light) and A or B (dark)"),
        mark_safe("".join(parts)),  # each part built with format_html above
    )


@register.filter
def cause_label(value: str) -> str:
    return str(labels.CAUSE_LABELS.get(value, value))


@register.filter
def minutes(value) -> str:
    """Minutes as a person reads them: "42.5 min", "3 h 05 min", "—" when none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, timedelta):
        value = value.total_seconds() / 60
    value = float(value)
    if value < 120:
        return _("%(minutes)s min") % {"minutes": f"{value:.1f}"}
    hours, rest = divmod(round(value), 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


@register.filter
def unit_label(unit: str) -> str:
    """A KPI's unit as people read it: ``h/d`` -> "h/day", translated."""
    units = {"min": _("min"), "h/d": _("h/day"), "h": _("h"), "%": "%"}
    return units.get(unit, unit)


@register.filter
def number(value, places: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value):.{int(places)}f}"


@register.filter
def improvement(value) -> SafeString:
    """A signed improvement in percent, marked better or worse."""
    if value is None:
        return format_html('<span class="muted">{}</span>', _("n/a"))
    css = "better" if value > 0 else "worse" if value < 0 else "same"
    return format_html('<span class="change {}">{}</span>', css, f"{value:+.1f} %")


@register.filter
def incident_title(incident) -> str:
    """The title in the reader's language (:func:`monitoring.labels.incident_title`)."""
    return labels.incident_title(incident)


@register.filter
def incident_category(value: str) -> str:
    """``resource`` -> "Server resources", in the reader's language."""
    return labels.category_label(value)


@register.filter
def role_label(value: str) -> str:
    """``planner`` -> "Planner", in the reader's language; an unknown group as it is."""
    try:
        return str(Role(value).label)
    except ValueError:
        return value


@register.filter
def resource_label(value: str) -> str:
    """``cpu``, ``memory``, ``disk`` in the reader's language."""
    return str(labels.RESOURCE_LABELS.get(value, value))


@register.filter
def incident_facts(incident) -> list[tuple[str, str, bool]]:
    """The detail as (label, value, is_code) rows (:func:`monitoring.labels.incident_facts`)."""
    return labels.incident_facts(incident)


@register.filter
def recommendation(value) -> str:

    return recommendation_text(value)


@register.filter
def check_label(name: str) -> str:
    labels = {
        "database": _("Database"),
        "broker": _("Task queue"),
        "worker": _("Background worker"),
        "beat": _("Scheduler (beat)"),
        "disk": _("Free disk"),
    }
    return labels.get(name, name)


@register.filter
def broker_kind_label(kind: str) -> str:
    """The broker the task queue runs on (``/readyz``'s ``kind``), for people."""
    names = {"rabbitmq": "RabbitMQ", "redis": "Redis", "filesystem": _("file system (embedded)")}
    return str(names.get(kind, kind))


@register.filter
def stall_reason_label(value: str) -> str:

    try:
        return str(StallReason(value).label)
    except ValueError:
        return value
