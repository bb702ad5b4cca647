"""What a snapshot is: the systems that send one, and its rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SYSTEMS = ("erp", "wms")


@dataclass(frozen=True)
class SnapshotRow:
    """One balance of the other system: a quantity of a material (batch) at a location,
    in our codes (leading zeros restored, locations mapped)."""

    material_code: str
    batch: str
    location: str
    quantity: Decimal
