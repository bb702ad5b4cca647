"""CSV and XLSX download of a reconciliation run's differences.

Written by the planner lists' one export helper (``inventory.exports``): the
same BOM, the same codes kept as text (in the CSV too: material codes,
batches and locations are ``text`` columns), the same guard against formulas.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from inventory.exports import Column

SYSTEM_LABELS = {"erp": _("ERP"), "wms": _("WMS")}


def plain_quantity(value: Decimal | None, decimal_places: int | None) -> Decimal | None:
    """The quantity with its material's decimals; unknown materials lose trailing zeros only."""
    if value is None:
        return None
    if decimal_places is None:
        normalized = value.normalize()
        return normalized if normalized.as_tuple().exponent <= 0 else value.quantize(Decimal(1))
    return value.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)


def _quantity(attribute: str):
    return lambda row: plain_quantity(getattr(row, attribute), row.decimal_places)


def _username(user) -> str:
    return user.get_username() if user is not None else ""


DISCREPANCY_COLUMNS = [
    Column(_("Compared with"), lambda row: SYSTEM_LABELS.get(row.system, row.system), 10),
    Column(_("Class"), lambda row: row.get_kind_display(), 18),
    Column(_("Material code"), lambda row: row.material_code, 14, text=True),
    Column(_("Material name"), lambda row: row.material_name or "", 28),
    Column(_("Batch"), lambda row: row.batch, 14, text=True),
    Column(_("Location"), lambda row: row.location, 16, text=True),
    Column(_("MES"), _quantity("mes_quantity")),
    Column(_("Other system"), _quantity("other_quantity")),
    Column(_("Difference"), _quantity("difference")),
    Column(_("Unit"), lambda row: row.material_unit or "", 8),
    Column(_("Repair"), lambda row: row.get_repair_display(), 22),
    Column(
        _("Decided by"), lambda row: row.decided_by.get_username() if row.decided_by else "", 12
    ),
    Column(_("Decided at"), lambda row: row.decided_at, 20),
]
