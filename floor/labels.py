"""Labels: the scan code of each thing, the text printed beside it and its symbols.

Scan codes carry a prefix so that a device tells a location from a material
without asking the server (it may be offline)::

    WO:<work order number>          OP:<work order number>/<sequence>
    LOC:<location code>             MAT:<material code>
    BAT:<material code>|<batch number>

Badges carry their code as it is. Symbols are SVG: QR codes from ``segno``,
Code 128 from ``python-barcode``'s SVG writer (no image library needed).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from xml.etree import ElementTree

import barcode
import segno
from barcode.writer import SVGWriter
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inventory.models import Batch, Location, Material
from workorders.models import WorkerBadge, WorkOrder, WorkOrderOperation

LABEL_LIMIT = 500
SVG_NS = "http://www.w3.org/2000/svg"
ElementTree.register_namespace("", SVG_NS)

KINDS = {
    "work_order": _("Work orders"),
    "operation": _("Operations of work orders"),
    "location": _("Locations"),
    "material": _("Materials"),
    "batch": _("Batches"),
    "badge": _("Badges"),
}
# The permission a person needs to print each kind (badges sign people in).
KIND_PERMISSIONS = {
    "work_order": "workorders.view_workorder",
    "operation": "workorders.view_workorder",
    "location": "inventory.view_location",
    "material": "inventory.view_material",
    "batch": "inventory.view_batch",
    "badge": "workorders.view_workerbadge",
}
SIZES = {
    "a4": _("A4 sheet, 3 x 8 labels of 70 x 37 mm"),
    "100x50": _("Single labels 100 x 50 mm"),
    "50x30": _("Single labels 50 x 30 mm"),
}
SYMBOLOGIES = {
    "both": _("QR code and Code 128"),
    "qr": _("QR code"),
    "code128": _("Code 128"),
}


# --- Scan codes ---------------------------------------------------------------------------
def work_order_code(number: str) -> str:
    return f"WO:{number}"


def operation_code(number: str, sequence: int) -> str:
    return f"OP:{number}/{sequence}"


def location_code(code: str) -> str:
    return f"LOC:{code}"


def material_code(code: str) -> str:
    return f"MAT:{code}"


def batch_code(material: str, number: str) -> str:
    return f"BAT:{material}|{number}"


_PREFIXES = {"WO": "work_order", "OP": "operation", "LOC": "location", "MAT": "material"}


@dataclass(frozen=True)
class ScannedCode:
    kind: str  # work_order, operation, location, material, batch or raw
    value: str
    sequence: int | None = None  # operations
    batch: str = ""  # batches


def parse_scan(text: str) -> ScannedCode:
    """What a scanned text names; without a known prefix it is ``raw``."""
    text = (text or "").strip()
    prefix, colon, rest = text.partition(":")
    prefix = prefix.upper()
    if colon and prefix == "BAT" and "|" in rest:
        material, _bar, number = rest.partition("|")
        return ScannedCode("batch", material, batch=number)
    if colon and prefix == "OP":
        number, _slash, sequence = rest.rpartition("/")
        if number and sequence.isdigit():
            return ScannedCode("operation", number, sequence=int(sequence))
    if colon and prefix in _PREFIXES and prefix != "OP" and rest:
        return ScannedCode(_PREFIXES[prefix], rest)
    return ScannedCode("raw", text)


# --- Symbols ----------------------------------------------------------------------------
def qr_svg(data: str) -> str:
    """A QR code as inline SVG that scales to its box (medium error correction)."""
    return segno.make(data, error="m", micro=False).svg_inline(
        scale=1, border=2, omitsize=True, svgclass="qr", lineclass=None
    )


def code128_svg(data: str) -> str:
    """A Code 128 symbol as inline SVG that stretches to its box; "" if the text cannot be
    encoded (Code 128 holds ASCII only: the QR code still carries it)."""
    if not data.isascii() or not data.isprintable():
        return ""
    symbol = barcode.get("code128", data, writer=SVGWriter())
    output = io.BytesIO()
    symbol.write(
        output,
        options={
            "module_width": 1,
            "module_height": 40,
            "quiet_zone": 10,
            "write_text": False,
            "margin_top": 0,
            "margin_bottom": 0,
        },
    )
    root = ElementTree.fromstring(output.getvalue())
    width = _millimetres(root.get("width"))
    height = _millimetres(root.get("height"))
    for element in root.iter():
        element.attrib.pop("id", None)  # many symbols share one page
        for attribute in ("x", "y", "width", "height"):
            value = element.get(attribute)
            if value and value.endswith("mm"):
                element.set(attribute, value[:-2])
    for attribute in ("width", "height"):
        root.attrib.pop(attribute, None)
    root.set("viewBox", f"0 0 {width:g} {height:g}")
    root.set("preserveAspectRatio", "none")
    root.set("class", "code128")
    root.set("shape-rendering", "crispEdges")
    svg = ElementTree.tostring(root, encoding="unicode")
    return re.sub(r">\s+<", "><", re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL))


def _millimetres(value: str | None) -> float:
    return float((value or "0").removesuffix("mm"))


# --- What to print --------------------------------------------------------------------
@dataclass
class Label:
    code: str
    title: str
    lines: list[str] = field(default_factory=list)
    qr: str = ""
    code128: str = ""


def _render(labels: list[Label], symbology: str) -> list[Label]:
    for label in labels:
        if symbology in ("both", "qr"):
            label.qr = qr_svg(label.code)
        if symbology in ("both", "code128"):
            label.code128 = code128_svg(label.code)
    return labels


def _wanted(values: list[str]) -> tuple[bool, list[str]]:
    cleaned = [value.strip() for value in values if value.strip()]
    return (cleaned == ["*"] or cleaned == ["all"]), cleaned


def _work_order_labels(everything: bool, wanted: list[str]) -> list[Label]:
    orders = WorkOrder.objects.select_related("product").order_by("number")
    orders = orders if everything else orders.filter(number__in=wanted)
    labels = []
    for order in orders[:LABEL_LIMIT]:
        lines = [
            f"{order.product.code} {order.product.name}",
            f"{order.quantity.normalize():f} {order.product.unit}",
        ]
        if order.due_date:
            lines.append(f"{order.due_date:%Y-%m-%d}")
        labels.append(Label(work_order_code(order.number), order.number, lines))
    return labels


def _operation_labels(everything: bool, wanted: list[str]) -> list[Label]:
    operations = WorkOrderOperation.objects.select_related("work_order", "work_center").order_by(
        "work_order__number", "sequence"
    )
    if not everything:
        operations = operations.filter(work_order__number__in=wanted)
    labels = []
    for operation in operations[:LABEL_LIMIT]:
        number = operation.work_order.number
        labels.append(
            Label(
                operation_code(number, operation.sequence),
                f"{number} / {operation.sequence}",
                [operation.name, operation.work_center.code],
            )
        )
    return labels


def _location_labels(everything: bool, wanted: list[str]) -> list[Label]:
    locations = Location.objects.filter(is_active=True).order_by("code")
    locations = locations if everything else locations.filter(code__in=wanted)
    labels = []
    for location in locations[:LABEL_LIMIT]:
        lines = [location.name] if location.name != location.code else []
        lines.append(str(location.get_location_type_display()))
        labels.append(Label(location_code(location.code), location.code, lines))
    return labels


def _material_labels(everything: bool, wanted: list[str]) -> list[Label]:
    materials = Material.objects.filter(is_active=True).order_by("code")
    materials = materials if everything else materials.filter(code__in=wanted)
    return [
        Label(material_code(material.code), material.code, [material.name, material.unit])
        for material in materials[:LABEL_LIMIT]
    ]


def _batch_labels(everything: bool, wanted: list[str]) -> list[Label]:
    """Batches are asked for as ``<material code>|<batch number>``."""
    batches = Batch.objects.select_related("material").order_by("material__code", "number")
    if not everything:
        pairs = Q(pk__in=[])
        for value in wanted:
            material, _bar, number = value.partition("|")
            pairs |= Q(material__code=material.strip(), number=number.strip())
        batches = batches.filter(pairs)
    labels = []
    for batch in batches[:LABEL_LIMIT]:
        lines = [batch.material.name]
        if batch.expiry_date:
            lines.append(f"{batch.expiry_date:%Y-%m-%d}")
        labels.append(
            Label(
                batch_code(batch.material.code, batch.number),
                f"{batch.material.code} / {batch.number}",
                lines,
            )
        )
    return labels


def _badge_labels(everything: bool, wanted: list[str]) -> list[Label]:
    """Badges are asked for by their code or by their holder's user name."""
    badges = WorkerBadge.objects.select_related("user").filter(is_active=True)
    if not everything:
        badges = badges.filter(Q(code__in=wanted) | Q(user__username__in=wanted))
    labels = []
    for badge in badges.order_by("user__username")[:LABEL_LIMIT]:
        name = badge.user.get_full_name() or badge.user.get_username()
        labels.append(Label(badge.code, name, [badge.user.get_username()]))
    return labels


_LABELS_BY_KIND = {
    "work_order": _work_order_labels,
    "operation": _operation_labels,
    "location": _location_labels,
    "material": _material_labels,
    "batch": _batch_labels,
    "badge": _badge_labels,
}
# Kinds whose labels come in the order the codes were given (the others in their own order).
_IN_ORDER_GIVEN = ("work_order", "location", "material")


def label_list(*, kind: str, values: list[str], symbology: str = "both") -> list[Label]:
    """The labels of ``kind`` for the given codes (``*`` means every active one), in the
    order given; unknown codes are left out. At most ``LABEL_LIMIT`` labels."""
    everything, wanted = _wanted(values)
    build = _LABELS_BY_KIND.get(kind)
    labels = build(everything, wanted) if build is not None else []
    if not everything and kind in _IN_ORDER_GIVEN:
        order = {value: position for position, value in enumerate(wanted)}
        labels.sort(key=lambda label: order.get(label.title, len(order)))
    return _render(labels, symbology)
