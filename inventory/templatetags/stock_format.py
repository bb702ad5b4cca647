"""Template filters for stock quantities."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats

from inventory.exports import quantity as quantity_in_unit
from inventory.models import Material

register = template.Library()


@register.filter
def quantity(value: Decimal | None, material: Material) -> str:
    """``value`` with the decimals of the material's unit, grouped for the reader's language."""
    if value is None:
        return ""
    return formats.number_format(
        quantity_in_unit(value, material),
        decimal_pos=material.decimal_places,
        use_l10n=True,
        force_grouping=True,
    )


@register.filter
def quantity_input(value: Decimal | None, material: Material) -> str:
    """``value`` for an input field: the unit's decimals, no grouping, a dot ("" for none)."""
    if value is None:
        return ""
    return f"{quantity_in_unit(value, material):f}"
