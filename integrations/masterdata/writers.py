"""One writer per master-data kind: check references, skip equal rows, write the rest.

Each writer appends a :class:`CellError` for every row it cannot write (the
service's or model's own message, on the column it concerns) and returns the
counts ``created``, ``changed``, ``unchanged`` (and ``removed`` for
components). The caller rolls everything back when any error was found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from integrations import errors as int_errors
from integrations.importers import material_code_candidates
from integrations.masterdata import errors
from integrations.masterdata.reader import CellError, ParsedRow
from integrations.masterdata.sheets import Sheet
from inventory import services as inventory_services
from inventory.models import Batch, Location, Material
from mes.errors import ApplicationError
from mes.permissions import authorize, may
from workorders.models import Routing as RoutingModel
from workorders.models import RoutingComponent, RoutingOperation, WorkCenter


@dataclass
class WriteContext:
    actor: object
    sheet: Sheet
    problems: list[CellError]

    def column(self, key: str) -> str:
        for column in self.sheet.columns:
            if column.key == key:
                return column.header()
        return ""

    def add(self, row: ParsedRow, key: str, error, reason: str = "", value: str = "") -> None:
        message = f"{error.message} ({reason})" if reason else str(error.message)
        self.problems.append(CellError(row.number, self.column(key), error.code, message, value))

    def add_application_error(self, row: ParsedRow, exc: ApplicationError, default: str) -> None:
        if not exc.fields:
            self.add(row, default, exc.error)
            return
        for name, messages in exc.fields.items():
            column = self.column(name) or self.column(default)
            for message in messages:
                self.problems.append(
                    CellError(row.number, column, exc.error.code, str(message), "")
                )


def _counts() -> dict[str, int]:
    return {"created": 0, "changed": 0, "unchanged": 0, "removed": 0}


def _same(instance, fields: dict) -> bool:
    for name, value in fields.items():
        current = getattr(instance, name)
        if isinstance(current, Decimal) and value is not None:
            if Decimal(current) != Decimal(value):
                return False
        elif current != value:
            return False
    return True


def _given(row: ParsedRow, names) -> dict:
    """The row's values for ``names``; a blank optional number or yes/no keeps the stored one."""
    return {
        name: row.values[name]
        for name in names
        if name in row.values and row.values[name] is not None
    }


def _material_reference(context, row, key, code, known: set[str]) -> bool:
    """Whether ``code`` names a known material; flags a code Excel stripped of zeros."""
    if code in known:
        return True
    candidates = material_code_candidates([code], known)[code]
    if candidates:
        context.add(row, key, errors.MASTERDATA_LEADING_ZEROS, ", ".join(candidates), code)
    else:
        context.add(row, key, errors.MASTERDATA_UNKNOWN_REFERENCE, value=code)
    return False


# --- inventory: through inventory.services -------------------------------------------------
MATERIAL_COLUMNS = sorted(inventory_services.MATERIAL_FIELDS)


def write_materials(context: WriteContext, rows: list[ParsedRow]) -> dict:
    counts = _counts()
    stored = {material.code: material for material in Material.objects.all()}
    known = set(stored)
    for row in rows:
        code = row.values["code"]
        if code not in known and material_code_candidates([code], known)[code]:
            # A new code that equals a known one without its zeros: Excel's doing, most likely.
            candidates = ", ".join(material_code_candidates([code], known)[code])
            context.add(row, "code", errors.MASTERDATA_LEADING_ZEROS, candidates, code)
            continue
        fields = _given(row, MATERIAL_COLUMNS)
        existing = stored.get(code)
        if existing is not None and _same(existing, fields):
            counts["unchanged"] += 1
            continue
        try:
            inventory_services.material_upsert(actor=context.actor, code=code, fields=fields)
        except ApplicationError as exc:
            context.add_application_error(row, exc, "code")
            continue
        counts["changed" if existing else "created"] += 1
    return counts


def _parents_first(rows: list[ParsedRow]) -> list[ParsedRow]:
    """Rows ordered so that a parent in the file comes before its children."""
    by_code = {row.values["code"]: row for row in rows}
    ordered, placed = [], set()

    def place(row, trail=()):
        code = row.values["code"]
        if code in placed or code in trail:
            return
        parent = row.values.get("parent") or ""
        if parent in by_code:
            place(by_code[parent], (*trail, code))
        placed.add(code)
        ordered.append(row)

    for row in rows:
        place(row)
    return ordered


def write_locations(context: WriteContext, rows: list[ParsedRow]) -> dict:
    counts = _counts()
    stored = {location.code: location for location in Location.objects.select_related("parent")}
    in_file = {row.values["code"] for row in rows}
    for row in _parents_first(rows):
        code, parent = row.values["code"], row.values.get("parent") or ""
        if parent and parent not in stored and parent not in in_file:
            context.add(row, "parent", errors.MASTERDATA_UNKNOWN_REFERENCE, value=parent)
            continue
        fields = _given(row, ("name", "level", "location_type", "is_active"))
        existing = stored.get(code)
        current_parent = existing.parent.code if existing and existing.parent else ""
        if existing is not None and _same(existing, fields) and current_parent == parent:
            counts["unchanged"] += 1
            continue
        try:
            stored[code] = inventory_services.location_upsert(
                actor=context.actor, code=code, fields=fields, parent_code=parent or None
            )
        except ApplicationError as exc:
            context.add_application_error(row, exc, "code")
            continue
        counts["changed" if existing else "created"] += 1
    return counts


def write_batches(context: WriteContext, rows: list[ParsedRow]) -> dict:
    counts = _counts()
    known = set(Material.objects.values_list("code", flat=True))
    stored = {
        (batch.material.code, batch.number): batch
        for batch in Batch.objects.select_related("material")
    }
    for row in rows:
        material, number = row.values["material"], row.values["number"]
        if not _material_reference(context, row, "material", material, known):
            continue
        fields = {
            name: row.values.get(name)
            for name in ("production_date", "expiry_date", "supplier_lot")
            if name in row.values
        }
        existing = stored.get((material, number))
        if existing is not None and _same(existing, fields):
            counts["unchanged"] += 1
            continue
        try:
            inventory_services.batch_upsert(
                actor=context.actor, material_code=material, number=number, fields=fields
            )
        except ApplicationError as exc:
            context.add_application_error(row, exc, "number")
            continue
        counts["changed" if existing else "created"] += 1
    return counts


# --- workorders: the models, validated in full -------------------------------------------------
def _save_validated(context, row, instance, default_column: str) -> bool:
    try:
        instance.full_clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            column = context.column(name) or context.column(default_column)
            for message in messages:
                context.problems.append(
                    CellError(row.number, column, int_errors.RECORD_INVALID.code, message)
                )
        return False
    instance.save()
    return True


def _upsert(context, row, instance, fields: dict, default_column: str, counts) -> object | None:
    """Set ``fields`` on ``instance`` (new or stored) and save it if anything changed."""
    if instance.pk is not None and _same(instance, fields):
        counts["unchanged"] += 1
        return instance
    created = instance.pk is None
    for name, value in fields.items():
        setattr(instance, name, value)
    if not _save_validated(context, row, instance, default_column):
        return None
    counts["created" if created else "changed"] += 1
    return instance


def write_work_centers(context: WriteContext, rows: list[ParsedRow]) -> dict:
    authorize(context.actor, "workorders.add_workcenter")
    counts = _counts()
    stored = {center.code: center for center in WorkCenter.objects.all()}
    for row in rows:
        code = row.values["code"]
        fields = _given(row, ("name", "capacity", "is_active"))
        _upsert(context, row, stored.get(code) or WorkCenter(code=code), fields, "code", counts)
    return counts


def write_routings(context: WriteContext, rows: list[ParsedRow]) -> dict:
    """Routings (by code) with their operations (by sequence); operations are upserted."""
    authorize(context.actor, "workorders.add_routing")
    counts = _counts()
    products = {material.code: material for material in Material.objects.all()}
    centers = {center.code: center for center in WorkCenter.objects.all()}
    routings = {routing.code: routing for routing in RoutingModel.objects.select_related("product")}
    operations = {
        (operation.routing.code, operation.sequence): operation
        for operation in RoutingOperation.objects.select_related("routing", "work_center")
    }
    routing_counts = _counts()  # routings themselves are counted apart from operations
    for row in rows:
        values = row.values
        if not _material_reference(context, row, "product", values["product"], set(products)):
            continue
        center = centers.get(values["work_center"])
        if center is None:
            context.add(
                row, "work_center", errors.MASTERDATA_UNKNOWN_REFERENCE, value=values["work_center"]
            )
            continue
        routing_fields = {"product": products[values["product"]], **_given(row, ("is_default",))}
        routing = routings.get(values["routing"]) or RoutingModel(code=values["routing"])
        routing = _upsert(context, row, routing, routing_fields, "routing", routing_counts)
        if routing is None:
            continue
        routings[routing.code] = routing
        key = (routing.code, values["sequence"])
        operation = operations.get(key) or RoutingOperation(
            routing=routing, sequence=values["sequence"]
        )
        fields = {
            "name": values["name"],
            "work_center": center,
            **_given(row, ("setup_minutes", "run_minutes_per_unit", "inspection_after")),
        }
        saved = _upsert(context, row, operation, fields, "sequence", counts)
        if saved is not None:
            operations[key] = saved
    counts["routings_created"] = routing_counts["created"]
    return counts


def write_components(context: WriteContext, rows: list[ParsedRow]) -> dict:
    """The BOM of each operation named in the file becomes the file's rows for it:
    components of those operations that the file no longer lists are removed."""
    authorize(context.actor, "workorders.add_routingcomponent")
    counts = _counts()
    known = set(Material.objects.values_list("code", flat=True))
    locations = {location.code: location for location in Location.objects.all()}
    operations = {
        (operation.routing.code, operation.sequence): operation
        for operation in RoutingOperation.objects.select_related("routing")
    }
    stored = {
        (c.operation_id, c.material.code): c
        for c in RoutingComponent.objects.select_related("material", "issue_location")
    }
    materials = {material.code: material for material in Material.objects.filter(code__in=known)}
    kept: dict[int, set[str]] = {}
    for row in rows:
        values = row.values
        operation = operations.get((values["routing"], values["sequence"]))
        if operation is None:
            reason = f"{values['routing']} / {values['sequence']}"
            context.add(row, "sequence", errors.MASTERDATA_UNKNOWN_REFERENCE, reason)
            continue
        if not _material_reference(context, row, "material", values["material"], known):
            continue
        location_code = values.get("issue_location") or ""
        if location_code and location_code not in locations:
            context.add(
                row, "issue_location", errors.MASTERDATA_UNKNOWN_REFERENCE, value=location_code
            )
            continue
        kept.setdefault(operation.pk, set()).add(values["material"])
        fields = {"quantity_per_unit": values["quantity_per_unit"]}
        if "issue_method" in values:
            fields["issue_method"] = values["issue_method"] or "manual"
        if "issue_location" in values:
            fields["issue_location"] = locations.get(location_code)
        component = stored.get((operation.pk, values["material"])) or RoutingComponent(
            operation=operation, material=materials[values["material"]]
        )
        _upsert(context, row, component, fields, "material", counts)
    removed = [
        component
        for (operation_id, material_code), component in stored.items()
        if operation_id in kept and material_code not in kept[operation_id]
    ]
    if removed and not may(context.actor, "workorders.delete_routingcomponent"):
        message = str(errors.MASTERDATA_MAY_NOT_REMOVE.message)
        context.problems.append(CellError(1, "", errors.MASTERDATA_MAY_NOT_REMOVE.code, message))
        return counts
    for component in removed:
        component.delete()
        counts["removed"] += 1
    return counts


WRITERS: dict[str, Callable[[WriteContext, list[ParsedRow]], dict]] = {
    "materials": write_materials,
    "locations": write_locations,
    "batches": write_batches,
    "work_centers": write_work_centers,
    "routings": write_routings,
    "components": write_components,
}
