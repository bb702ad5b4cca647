"""A movement request checked against master data, before any lock is taken.

Everything that can be judged without a lock - known and active material and
locations, the quantity, the movement type's place rules, the batch - is
checked here, and the first problem found is raised as a field error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from inventory import errors
from inventory.models import Batch, Location, Material, MovementType
from mes.errors import ApplicationError, ErrorCode
from mes.hot_cache import ProcessCache

MAX_QUANTITY = Decimal("999999999999")  # 12 integer digits, as the columns hold

# Movement types whose legs take stock out of `location`.
OUTGOING_TYPES = {
    MovementType.ISSUE,
    MovementType.PUT_AWAY,
    MovementType.TRANSFER,
    MovementType.SCRAP,
}
TWO_LEG_TYPES = {MovementType.PUT_AWAY, MovementType.TRANSFER}
# Movements that may bring a batch we have not seen yet (a count finds goods too).
NEW_GOODS_TYPES = {MovementType.RECEIPT, MovementType.COMPLETION, MovementType.COUNT}
ADJUST_TYPES = {MovementType.ADJUSTMENT, MovementType.COUNT}


@dataclass(frozen=True)
class MovementRequest:
    """A movement as a person, device or system asked for it (codes, not ids)."""

    movement_type: str
    material: str
    location: str
    quantity: Decimal
    to_location: str | None = None
    batch: str | None = None
    reason: str = ""
    reference: str = ""
    occurred_at: datetime | None = None
    device_id: str = ""
    note: str = ""


@dataclass
class ResolvedMovement:
    """A request's codes turned into the rows they name."""

    movement_type: str
    material: Material
    location: Location
    to_location: Location | None
    batch_number: str | None
    batch: Batch | None = None


def field_error(error: ErrorCode, field_name: str, message: str | None = None) -> ApplicationError:
    return ApplicationError(error, fields={field_name: [str(message or error.message)]})


def _decimal_places(quantity: Decimal) -> int:
    """Decimals that matter (trailing zeros do not), counted exactly.

    ``Decimal.normalize`` would round to the context's 28 digits (so
    ``1.000...0001`` looked whole) and overflow on a huge exponent.
    """
    if not quantity:
        return 0  # "0.00" has no decimals that matter
    _sign, digits, exponent = quantity.as_tuple()
    places = -exponent
    for digit in reversed(digits):
        if places <= 0 or digit != 0:
            break
        places -= 1
    return max(places, 0)


def quantity_validate(movement_type: str, quantity: Decimal, material: Material) -> None:
    if not quantity.is_finite():
        raise field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    if movement_type == MovementType.COUNT:
        if quantity < 0:
            raise field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    elif movement_type == MovementType.ADJUSTMENT:
        if quantity == 0:
            raise field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    elif quantity <= 0:
        raise field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    if quantity.copy_abs() > MAX_QUANTITY:  # copy_abs: exact, no context to overflow
        raise field_error(errors.QUANTITY_TOO_LARGE, "quantity")
    if _decimal_places(quantity) > material.decimal_places:
        raise field_error(errors.TOO_MANY_DECIMALS, "quantity")


# One movement's lookups by code, kept per process (mes.hot_cache; the inventory app
# bumps the generation when a material or a location changes).
MATERIALS_BY_CODE = ProcessCache(lambda code: Material.objects.filter(code=code).first())
LOCATIONS_BY_CODE = ProcessCache(lambda code: Location.objects.filter(code=code).first())


@dataclass
class MasterDataCache:
    """Materials, locations and batches by code, loaded once for many movements.

    Without preloaded maps every lookup is its own query (one movement).
    """

    materials: dict[str, Material] | None = None
    locations: dict[str, Location] | None = None
    batches: dict[tuple[int, str], Batch] | None = None

    def material(self, code: str) -> Material | None:
        if self.materials is not None:
            return self.materials.get(code)
        return MATERIALS_BY_CODE.get(code)

    def location(self, code: str) -> Location | None:
        if self.locations is not None:
            return self.locations.get(code)
        return LOCATIONS_BY_CODE.get(code)

    def batch(self, material: Material, number: str) -> Batch | None:
        if self.batches is not None:
            return self.batches.get((material.pk, number))
        return Batch.objects.filter(material=material, number=number).first()


def master_data_for(requests: list[MovementRequest]) -> MasterDataCache:
    """The master data of many requests, read with three queries."""
    materials = {
        material.code: material
        for material in Material.objects.filter(code__in={r.material for r in requests})
    }
    locations = {
        location.code: location
        for location in Location.objects.filter(
            code__in={r.location for r in requests} | ({r.to_location for r in requests} - {None})
        )
    }
    numbers = {(r.batch or "").strip() for r in requests} - {""}
    batches = {}
    if numbers:
        batches = {
            (batch.material_id, batch.number): batch
            for batch in Batch.objects.filter(material__in=materials.values(), number__in=numbers)
        }
    return MasterDataCache(materials, locations, batches)


def open_location(
    code: str | None, field_name: str, master: MasterDataCache | None = None
) -> Location:
    """The known, open location of ``code``; otherwise a field error on ``field_name``."""
    location = (master or MasterDataCache()).location(code) if code else None
    if location is None:
        raise field_error(errors.UNKNOWN_LOCATION, field_name)
    if not location.is_active:
        raise field_error(errors.LOCATION_CLOSED, field_name)
    return location


def active_material(material: Material | None) -> Material:
    """``material`` if it is known and active; otherwise a field error on ``material``."""
    if material is None:
        raise field_error(errors.UNKNOWN_MATERIAL, "material")
    if not material.is_active:
        raise field_error(errors.MATERIAL_INACTIVE, "material")
    return material


def movement_resolve(
    request: MovementRequest,
    master: MasterDataCache | None = None,
    *,
    releases_hold: bool = False,
) -> ResolvedMovement:
    """Check everything that needs no lock; raise the first problem found.

    ``releases_hold``: the transfer is the QC release of an order's goods, the only
    way out of quality hold into stock that can be used."""
    master = master or MasterDataCache()
    if request.movement_type not in MovementType.values or (
        request.movement_type == MovementType.REVERSAL
    ):
        raise field_error(errors.UNKNOWN_MOVEMENT_TYPE, "type")
    movement_type = request.movement_type
    material = active_material(master.material(request.material))
    quantity_validate(movement_type, request.quantity, material)
    location = open_location(request.location, "location", master)
    to_location = _target_location(request, location, master)
    _check_location_types(movement_type, location, to_location, releases_hold)
    if movement_type == MovementType.ADJUSTMENT and not request.reason.strip():
        raise field_error(errors.REASON_REQUIRED, "reason")
    if movement_type == MovementType.SCRAP and not request.reason.strip():
        raise field_error(errors.SCRAP_REASON_REQUIRED, "reason")
    batch_number, batch = _batch_of(request, material, master)
    return ResolvedMovement(movement_type, material, location, to_location, batch_number, batch)


def _target_location(
    request: MovementRequest, location: Location, master: MasterDataCache
) -> Location | None:
    """The second leg's location of a two-leg movement (``None`` for one leg)."""
    if request.movement_type not in TWO_LEG_TYPES:
        return None
    if not (request.to_location or "").strip():
        raise field_error(errors.TARGET_LOCATION_REQUIRED, "to_location")
    to_location = open_location(request.to_location, "to_location", master)
    if to_location.pk == location.pk:
        raise field_error(errors.TARGET_LOCATION_REQUIRED, "to_location")
    return to_location


def _check_location_types(
    movement_type: str, location: Location, to_location: Location | None, releases_hold: bool
) -> None:
    """Completions land in pending put-away (or quality hold); put-away takes them out of it.

    Goods in quality hold are not available: nothing is issued or put away from
    there, and only QC passing transfers them out (``workorders`` pass_qc); a
    transfer to another quality-hold location keeps them held.
    """
    pending = Location.Type.PENDING_PUTAWAY
    hold = Location.Type.QUALITY_HOLD
    if movement_type == MovementType.COMPLETION and location.location_type not in (pending, hold):
        raise field_error(errors.WRONG_LOCATION_TYPE, "location")
    if movement_type == MovementType.ISSUE and location.location_type == hold:
        raise field_error(errors.WRONG_LOCATION_TYPE, "location")
    if (
        movement_type == MovementType.TRANSFER
        and location.location_type == hold
        and to_location.location_type != hold
        and not releases_hold
    ):
        raise field_error(errors.QUALITY_HOLD_LOCKED, "location")
    if movement_type == MovementType.PUT_AWAY:
        if location.location_type != pending:
            raise field_error(errors.WRONG_LOCATION_TYPE, "location")
        if to_location.location_type == pending:
            raise field_error(errors.WRONG_LOCATION_TYPE, "to_location")


def _batch_of(
    request: MovementRequest, material: Material, master: MasterDataCache
) -> tuple[str | None, Batch | None]:
    """The batch number given and its row (``None`` while a new batch is still to create)."""
    batch_number = (request.batch or "").strip() or None
    batch = None
    if material.is_batch_tracked and batch_number is None:
        raise field_error(errors.BATCH_REQUIRED, "batch")
    if not material.is_batch_tracked and batch_number is not None:
        raise field_error(errors.BATCH_NOT_ALLOWED, "batch")
    if batch_number is not None:
        batch = master.batch(material, batch_number)
        if batch is None and request.movement_type not in NEW_GOODS_TYPES:
            raise field_error(errors.UNKNOWN_BATCH, "batch")
    return batch_number, batch
