"""Materials, locations and batches: created, changed and deleted only here.

The API (by id) and other systems' master data (by code, ``*_upsert``) write
through the same functions per entity: the model's full validation, a field
error with ``API-001`` for anything wrong, nothing saved then.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy as _

from inventory import errors
from inventory.models import Batch, Location, Material
from inventory.services.validation import field_error, open_location
from mes.errors import API_VALIDATION, ApplicationError
from mes.permissions import authorize

# What other systems may set by code (the code itself is the key).
MATERIAL_FIELDS = {
    "name",
    "specification",
    "unit",
    "decimal_places",
    "category",
    "is_batch_tracked",
    "allow_negative",
    "safety_stock",
    "abc_class",
    "standard_cost",
    "is_active",
}
LOCATION_FIELDS = {"name", "level", "location_type", "is_active"}
BATCH_FIELDS = {"production_date", "expiry_date", "supplier_lot"}
# What the API may set: the keys too.
MATERIAL_API_FIELDS = {"code", *MATERIAL_FIELDS}
LOCATION_API_FIELDS = {"code", "parent", *LOCATION_FIELDS}
BATCH_API_FIELDS = {"material", "number", *BATCH_FIELDS}

IN_USE_MESSAGE = _("It is used by stock records; mark it inactive instead.")


def _known(fields: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key in names}


def _permission(action: str, model: type[models.Model]) -> str:
    return f"inventory.{action}_{model._meta.model_name}"


def _validated_save(instance: models.Model, fields: dict[str, Any], exclude_unique: bool = False):
    """Full model validation, then save; a problem is a field error with API-001."""
    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(validate_unique=not exclude_unique)
    except ValidationError as exc:
        raise ApplicationError(
            API_VALIDATION,
            fields={
                key: [str(message) for message in messages]
                for key, messages in exc.message_dict.items()
            },
        ) from exc
    instance.save()
    return instance


@transaction.atomic
def _create(actor, model: type[models.Model], fields: dict[str, Any], names: set[str]):
    authorize(actor, _permission("add", model))
    return _validated_save(model(), _known(fields, names))


@transaction.atomic
def _update(actor, instance: models.Model, fields: dict[str, Any], names: set[str]):
    authorize(actor, _permission("change", type(instance)))
    return _validated_save(instance, _known(fields, names))


@transaction.atomic
def _delete(actor, instance: models.Model) -> None:
    """Delete the row unless stock records (or child locations) point to it: API-001 then."""
    authorize(actor, _permission("delete", type(instance)))
    try:
        instance.delete()
    except ProtectedError as error:
        raise ApplicationError(
            API_VALIDATION, fields={"non_field_errors": [str(IN_USE_MESSAGE)]}
        ) from error


# --- Materials ----------------------------------------------------------------------------
def material_create(*, actor, fields: dict[str, Any]) -> Material:
    return _create(actor, Material, fields, MATERIAL_API_FIELDS)


def material_update(*, actor, material: Material, fields: dict[str, Any]) -> Material:
    """Set the given fields (the others stay as they are)."""
    return _update(actor, material, fields, MATERIAL_API_FIELDS)


def material_delete(*, actor, material: Material) -> None:
    _delete(actor, material)


@transaction.atomic
def material_upsert(*, actor, code: str, fields: dict[str, Any]) -> Material:
    """Create or update a material by its exact code (what an ERP's master data sends)."""
    authorize(actor, _permission("change", Material))
    material = Material.objects.select_for_update().filter(code=code).first() or Material(code=code)
    known = _known(fields, MATERIAL_FIELDS)
    return _validated_save(material, known, exclude_unique=material.pk is not None)


# --- Locations ----------------------------------------------------------------------------
def location_create(*, actor, fields: dict[str, Any]) -> Location:
    return _create(actor, Location, fields, LOCATION_API_FIELDS)


def location_update(*, actor, location: Location, fields: dict[str, Any]) -> Location:
    """Set the given fields (the others stay as they are)."""
    return _update(actor, location, fields, LOCATION_API_FIELDS)


def location_delete(*, actor, location: Location) -> None:
    _delete(actor, location)


@transaction.atomic
def location_upsert(
    *, actor, code: str, fields: dict[str, Any], parent_code: str | None = None
) -> Location:
    """Create or update a location by its code; its parent, if given, must be open."""
    authorize(actor, _permission("change", Location))
    location = Location.objects.select_for_update().filter(code=code).first() or Location(code=code)
    known = _known(fields, LOCATION_FIELDS)
    if parent_code:
        known["parent"] = open_location(parent_code, "parent")
    return _validated_save(location, known, exclude_unique=location.pk is not None)


# --- Batches ------------------------------------------------------------------------------
def batch_create(*, actor, fields: dict[str, Any]) -> Batch:
    return _create(actor, Batch, fields, BATCH_API_FIELDS)


def batch_update(*, actor, batch: Batch, fields: dict[str, Any]) -> Batch:
    """Set the given fields (the others stay as they are)."""
    return _update(actor, batch, fields, BATCH_API_FIELDS)


def batch_delete(*, actor, batch: Batch) -> None:
    _delete(actor, batch)


@transaction.atomic
def batch_upsert(*, actor, material_code: str, number: str, fields: dict[str, Any]) -> Batch:
    """Create or update a batch by material code and batch number."""
    authorize(actor, _permission("change", Batch))
    material = Material.objects.filter(code=material_code).first()
    if material is None:
        raise field_error(errors.UNKNOWN_MATERIAL, "material")
    batch = Batch.objects.select_for_update().filter(
        material=material, number=number
    ).first() or Batch(material=material, number=number)
    known = _known(fields, BATCH_FIELDS)
    return _validated_save(batch, known, exclude_unique=batch.pk is not None)
