"""Check records on the work-order page and its traveler; answers told with their labels."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from quality.selectors import step_record_list
from quality.spec import CHECKBOX, NUMBER

register = template.Library()


def _answer_text(field: dict, value) -> str:
    if field["type"] == CHECKBOX:
        return _("yes") if value else _("no")
    if field["type"] == NUMBER and field.get("unit"):
        return f"{value} {field['unit']}"
    if value == "signed":
        return _("signed")
    return str(value)


@register.simple_tag
def record_answers(record):
    """Each answer as "label: value", the failed ones marked."""
    failed = set(record.failed_fields)
    rows = [
        (
            "failed" if field["key"] in failed else "",
            field["label"],
            _answer_text(field, record.answers[field["key"]]),
        )
        for field in record.version.fields
        if field["key"] in record.answers
    ]
    return format_html(
        '<ul class="answers">{}</ul>',
        format_html_join("", '<li class="{}">{}: {}</li>', rows),
    )


@register.inclusion_tag("quality/_order_records.html")
def step_records_for(order):
    """The order's check records, newest first (one query)."""
    return {"order": order, "records": list(step_record_list(work_order_id=order.pk)[:100])}


@register.inclusion_tag("quality/_traveler_checks.html")
def traveler_checks(order):
    """The checks recorded on the order, compact for the printed traveler (one query)."""
    return {"records": list(step_record_list(work_order_id=order.pk)[:50])}
