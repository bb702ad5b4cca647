"""Template filters of the skills pages: a matrix cell's colour and words."""

from __future__ import annotations

from datetime import date, timedelta

from django import template

from workorders.staffing_selectors import EXPIRING_DAYS

register = template.Library()


@register.filter
def qualification_class(qualification, today: date) -> str:
    """``level-N``, plus ``expired`` or ``expiring`` (within 30 days) for the cell's colour."""
    if qualification is None:
        return "level-none"
    classes = [f"level-{qualification.level}"]
    expires = qualification.expires_on
    if expires is not None and expires < today:
        classes = ["expired"]
    elif expires is not None and expires <= today + timedelta(days=EXPIRING_DAYS):
        classes.append("expiring")
    return " ".join(classes)
