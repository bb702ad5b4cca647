"""A small demo plant for ``manage.py demo_data``: locations, materials and stock.

The materials are those of ``shared/samples/erp_stock_gbk.csv`` (codes kept
exactly, leading zeros included), so the ERP sample and the demo agree on
what is in the two warehouses. Stock is posted only through
``inventory.services.stock_move`` with fixed idempotency keys: a second run
replays every movement and changes nothing. Master data is created when
missing and otherwise left as it is.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from inventory.models import Location, Material, MovementSource, MovementType
from inventory.services import MovementRequest, stock_move

Level = Location.Level
Type = Location.Type

# (code, name, parent code, level, type); parents come before their children.
LOCATIONS = [
    ("RM", "原料仓", None, Level.WAREHOUSE, Type.STORAGE),
    ("RM-A", "原料仓 A 区", "RM", Level.ZONE, Type.STORAGE),
    ("RM-A-01", "原料仓 A 区 01 货位", "RM-A", Level.BIN, Type.STORAGE),
    ("RM-A-02", "原料仓 A 区 02 货位", "RM-A", Level.BIN, Type.STORAGE),
    ("RM-B", "原料仓 B 区", "RM", Level.ZONE, Type.STORAGE),
    ("RM-B-01", "原料仓 B 区 01 货位", "RM-B", Level.BIN, Type.STORAGE),
    ("FG", "成品仓", None, Level.WAREHOUSE, Type.STORAGE),
    ("FG-A", "成品仓 A 区", "FG", Level.ZONE, Type.STORAGE),
    ("FG-A-01", "成品仓 A 区 01 货位", "FG-A", Level.BIN, Type.STORAGE),
    ("FG-A-02", "成品仓 A 区 02 货位", "FG-A", Level.BIN, Type.STORAGE),
    ("FG-PENDING", "成品待入库区", None, Level.BIN, Type.PENDING_PUTAWAY),
    ("LINE-1", "1 号线线边库", None, Level.BIN, Type.LINE_SIDE),
    ("WIP-1", "1 号线在制品", None, Level.BIN, Type.WIP),
    ("QH-01", "质量隔离区", None, Level.BIN, Type.QUALITY_HOLD),
]

# From the ERP sample; 0200118 is below its safety stock on purpose.
MATERIALS = [
    {
        "code": "100234",
        "name": "齿轮轴 Φ20",
        "unit": "件",
        "category": "成品",
        "is_batch_tracked": True,
        "safety_stock": Decimal(500),
        "abc_class": "A",
        "standard_cost": Decimal("86.50"),
    },
    {
        "code": "100235",
        "name": "法兰盘",
        "unit": "件",
        "category": "成品",
        "is_batch_tracked": True,
        "safety_stock": Decimal(200),
        "abc_class": "B",
        "standard_cost": Decimal("42"),
    },
    {
        "code": "0200117",
        "name": "轴承 6204",
        "unit": "个",
        "category": "外购件",
        "is_batch_tracked": False,
        "safety_stock": Decimal(1000),
        "abc_class": "B",
        "standard_cost": Decimal("6.80"),
    },
    {
        "code": "0200118",
        "name": "油封 25×40×7",  # noqa: RUF001 - the ERP name, multiplication sign and all
        "unit": "个",
        "category": "外购件",
        "is_batch_tracked": True,
        "safety_stock": Decimal(200),
        "abc_class": "C",
        "standard_cost": Decimal("1.20"),
    },
]

SUPERVISOR = "supervisor"  # created by mes.demo; moves done "on the floor" are theirs


def _movement(movement_type, material, location, quantity, **kwargs) -> MovementRequest:
    return MovementRequest(
        movement_type=movement_type,
        material=material,
        location=location,
        quantity=Decimal(quantity),
        **kwargs,
    )


# (idempotency key, source, by the supervisor?, request). Afterwards the warehouses
# hold what the ERP sample says; 60 more of 100234 wait in FG-PENDING.
MOVEMENTS = [
    (
        "demo-receipt-1",
        MovementSource.ERP,
        False,
        _movement(MovementType.RECEIPT, "0200117", "RM-A-01", 5000, reference="PO-2401-007"),
    ),
    (
        "demo-receipt-2",
        MovementSource.ERP,
        False,
        _movement(
            MovementType.RECEIPT, "0200118", "RM-B-01", 96, batch="S-88", reference="PO-2401-009"
        ),
    ),
    (
        "demo-issue-1",
        MovementSource.UI,
        True,
        _movement(MovementType.ISSUE, "0200117", "RM-A-01", 200, reference="WO-DEMO-001"),
    ),
    (
        "demo-transfer-1",
        MovementSource.UI,
        True,
        _movement(MovementType.TRANSFER, "0200117", "RM-A-01", 800, to_location="RM-A-02"),
    ),
    (
        "demo-completion-1",
        MovementSource.UI,
        True,
        _movement(
            MovementType.COMPLETION,
            "100234",
            "FG-PENDING",
            1250,
            batch="L2401",
            reference="WO-DEMO-001",
        ),
    ),
    (
        "demo-putaway-1",
        MovementSource.UI,
        True,
        _movement(
            MovementType.PUT_AWAY,
            "100234",
            "FG-PENDING",
            1250,
            batch="L2401",
            to_location="FG-A-01",
        ),
    ),
    (
        "demo-completion-2",
        MovementSource.UI,
        True,
        _movement(
            MovementType.COMPLETION,
            "100235",
            "FG-PENDING",
            300,
            batch="L2402",
            reference="WO-DEMO-002",
        ),
    ),
    (
        "demo-putaway-2",
        MovementSource.UI,
        True,
        _movement(
            MovementType.PUT_AWAY, "100235", "FG-PENDING", 300, batch="L2402", to_location="FG-A-02"
        ),
    ),
    (
        "demo-completion-3",
        MovementSource.UI,
        True,
        _movement(
            MovementType.COMPLETION,
            "100234",
            "FG-PENDING",
            60,
            batch="L2403",
            reference="WO-DEMO-003",
        ),
    ),
]


def _locations() -> int:
    created = 0
    by_code: dict[str, Location] = {}
    for code, name, parent, level, location_type in LOCATIONS:
        location, was_created = Location.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "parent": by_code.get(parent) if parent else None,
                "level": level,
                "location_type": location_type,
            },
        )
        by_code[code] = location
        created += was_created
    return created


def _materials() -> int:
    created = 0
    for fields in MATERIALS:
        _material, was_created = Material.objects.get_or_create(
            code=fields["code"],
            defaults={key: value for key, value in fields.items() if key != "code"},
        )
        created += was_created
    return created


@transaction.atomic
def load(stdout) -> None:
    """Create the demo plant; what exists already is left alone."""
    new_locations = _locations()
    new_materials = _materials()
    supervisor = get_user_model().objects.filter(username=SUPERVISOR).first()
    new_movements = 0
    for key, source, by_supervisor, request in MOVEMENTS:
        result = stock_move(
            actor=supervisor if by_supervisor else None,
            idempotency_key=key,
            request=request,
            source=source,
        )
        new_movements += not result.replayed
    stdout.write(
        f"Inventory demo: {new_locations} locations, {new_materials} materials and "
        f"{new_movements} movements added ({len(MOVEMENTS)} movements in the demo)."
    )
