"""Template helpers of the reconciliation pages: quantities, error codes, the trend chart.

The chart is drawn here as SVG geometry (no chart library, no script): one
bar per night, scaled to a round maximum, with the incident threshold as a
dashed line when it falls inside the scale.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import gettext, ngettext

from integrations.exports import SYSTEM_LABELS, plain_quantity
from integrations.reconciliation import RUN_FAILED
from integrations.selectors import TrendNight
from mes.errors import REGISTRY

register = template.Library()

CODE_PREFIX = re.compile(r"^([A-Z]{2,4}-\d{3}):\s*")


@register.filter
def reconciliation_quantity(value: Decimal | None, decimal_places: int | None) -> str:
    """A quantity with its material's decimals (trailing zeros dropped when unknown), grouped."""
    shown = plain_quantity(value, decimal_places)
    if shown is None:
        return ""
    return formats.number_format(shown, use_l10n=True, force_grouping=True)


@register.filter
def signed_quantity(value: Decimal | None, decimal_places: int | None) -> str:
    """Like ``reconciliation_quantity`` with a plus sign on positive differences."""
    text = reconciliation_quantity(value, decimal_places)
    return f"+{text}" if value is not None and value > 0 else text


@register.filter
def system_label(system: str) -> str:
    return str(SYSTEM_LABELS.get(system, system))


@register.filter
def run_failure(text: str) -> dict:
    """A failed run's stored error as ``{"error": ErrorCode, "detail": str}``.

    The worker stores ``"REC-006: ..."`` in its own language; the page shows
    the code's message in the reader's language, and the stored text as
    detail. An error without a known code is a failed run (``REC-001``).
    """
    text = text or ""
    match = CODE_PREFIX.match(text)
    error = REGISTRY.get(match.group(1)) if match else None
    if error is None:
        return {"error": RUN_FAILED, "detail": text}
    return {"error": error, "detail": text[match.end() :]}


# --- The trend chart -----------------------------------------------------------------
WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28
LABEL_EVERY = 7


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class NightLabel:
    x: str
    text: str


def _round_up(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value``."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _n(value: float) -> str:
    return f"{value:.1f}"


@register.inclusion_tag("integrations/_trend_chart.html")
def trend_chart(points: list[TrendNight], threshold: int | None = None) -> dict:
    nights = max(len(points), 1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    counts = [point.discrepancies for point in points if point.discrepancies is not None]
    scale = _round_up(max(counts, default=0))
    slot = plot_width / nights
    bar_width = max(slot * 0.68, 1.0)
    bars, labels = [], []
    for index, point in enumerate(points):
        x = LEFT + index * slot + (slot - bar_width) / 2
        day = formats.date_format(point.night, "Y-m-d")
        if point.discrepancies is None:
            css = "trend-failed" if point.failed else "trend-none"
            height = 6.0 if point.failed else 2.0
            title = (
                gettext("%(night)s: the run failed")
                if point.failed
                else gettext("%(night)s: no run")
            ) % {"night": day}
        else:
            height = point.discrepancies / scale * plot_height
            if point.discrepancies and height < 1:
                height = 1.0
            over = threshold is not None and point.discrepancies > threshold
            css = "trend-bar trend-over" if over else "trend-bar"
            title = ngettext(
                "%(night)s: %(count)d difference",
                "%(night)s: %(count)d differences",
                point.discrepancies,
            ) % {"night": day, "count": point.discrepancies}
        bars.append(Bar(_n(x), _n(baseline - height), _n(bar_width), _n(height), css, title))
        if (nights - 1 - index) % LABEL_EVERY == 0:
            labels.append(
                NightLabel(_n(x + bar_width / 2), formats.date_format(point.night, "m-d"))
            )
    ticks = [Tick(_n(baseline), "0")]
    if scale >= 2 and scale % 2 == 0:
        ticks.append(Tick(_n(baseline - plot_height / 2), str(scale // 2)))
    ticks.append(Tick(_n(TOP), str(scale)))
    threshold_y = None
    if threshold is not None and 0 < threshold <= scale:
        threshold_y = _n(baseline - threshold / scale * plot_height)
    latest = next((point for point in reversed(points) if point.discrepancies is not None), None)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "baseline": _n(baseline),
        "label_y": HEIGHT - 8,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "tick_x": LEFT - 6,
        "threshold": threshold,
        "threshold_y": threshold_y,
        "latest": latest,
        "highest": max(counts, default=None),
        "nights": len(points),
    }
