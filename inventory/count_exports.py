"""The count report as rows for :func:`inventory.exports.export_response`.

One row per counted line (book at the cut-off, counted, difference, its
value), then one summary row per ABC class and one for the whole count with
the accuracy (share of lines without a difference) and the value accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.count_models import CountLine
from inventory.exports import Column


def _get(name: str):
    return lambda row: row.get(name, "")


COUNT_REPORT_COLUMNS = [
    Column(_("Location"), _get("location"), 16, text=True),
    Column(_("Material code"), _get("material"), 14, text=True),
    Column(_("Material name"), _get("name"), 24),
    Column(_("Batch"), _get("batch"), 14, text=True),
    Column(_("ABC class"), _get("abc_class"), 8),
    Column(_("Book quantity at cut-off"), _get("book"), 14),
    Column(_("Counted"), _get("counted"), 12),
    Column(_("Difference"), _get("difference"), 12),
    Column(_("Standard cost"), _get("cost"), 12),
    Column(_("Difference value"), _get("difference_value"), 14),
    Column(_("Accuracy %"), _get("accuracy"), 10),
    Column(_("Value accuracy %"), _get("value_accuracy"), 12),
]


def report_rows(lines: list[CountLine], report: dict) -> Iterator[dict]:
    for line in lines:
        difference = line.difference
        yield {
            "location": line.location.code,
            "material": line.material.code,
            "name": line.material.name,
            "batch": line.batch.number if line.batch else "",
            "abc_class": line.material.abc_class,
            "book": line.book_quantity,
            "counted": line.final_quantity,
            "difference": difference,
            "cost": line.material.standard_cost,
            "difference_value": None
            if difference is None
            else difference * line.material.standard_cost,
        }
    for abc_class, row in report["classes"].items():
        yield _summary(gettext("Class %(abc)s") % {"abc": abc_class}, row)
    yield _summary(gettext("Total"), report["total"])


def _summary(label: str, row: dict) -> dict:
    return {
        "location": label,
        "counted": row["lines"],
        "difference_value": row["difference_value"],
        "accuracy": row["accuracy"],
        "value_accuracy": row["value_accuracy"],
    }
