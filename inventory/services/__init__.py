"""The one place where stock and its master data change.

- :mod:`.movements` - one movement at a time (:func:`stock_move`) and reversals;
- :mod:`.batch` - many movements in one request, set-based where it can
  (:func:`stock_move_many`);
- :mod:`.ledger` - movement and ledger rows, balance locks and outbox messages,
  shared by both paths;
- :mod:`.validation` - a request checked against master data before any lock;
- :mod:`.claims` - late movements the reconciliation already recovered;
- :mod:`.reservations` - stock set aside for a work order, and released;
- :mod:`.master_data` - materials, locations and batches;
- :mod:`.counts` - count tasks: cut-off, blind count, recount, approval.

Callers import from ``inventory.services``; the names below stay importable here.
"""

from inventory.services.batch import (
    BATCH_LIMIT,
    SET_BASED_TYPES,
    BatchItemResult,
    stock_move_many,
)
from inventory.services.claims import RECOVERABLE_TYPES
from inventory.services.counts import (
    ENTER_PERMISSION as COUNT_ENTER_PERMISSION,
)
from inventory.services.counts import (
    CountScope,
    count_line_scan,
    count_line_scan_once,
    count_lines_record,
    count_task_approve,
    count_task_cancel,
    count_task_create,
    count_task_submit,
)
from inventory.services.ledger import NOT_ECHOED_SOURCES, MovementResult
from inventory.services.master_data import (
    BATCH_FIELDS,
    LOCATION_FIELDS,
    MATERIAL_FIELDS,
    batch_create,
    batch_delete,
    batch_update,
    batch_upsert,
    location_create,
    location_delete,
    location_update,
    location_upsert,
    material_create,
    material_delete,
    material_update,
    material_upsert,
)
from inventory.services.movements import (
    MOVEMENT_PERMISSIONS,
    may_move_stock,
    movement_authorize,
    movement_stored_answer,
    stock_move,
    stock_movement_reverse,
)
from inventory.services.reservations import (
    ReservationRequest,
    stock_reservation_release,
    stock_reserve,
)
from inventory.services.validation import (
    ADJUST_TYPES,
    MAX_QUANTITY,
    NEW_GOODS_TYPES,
    OUTGOING_TYPES,
    TWO_LEG_TYPES,
    MovementRequest,
)

__all__ = [
    "ADJUST_TYPES",
    "BATCH_FIELDS",
    "BATCH_LIMIT",
    "COUNT_ENTER_PERMISSION",
    "LOCATION_FIELDS",
    "MATERIAL_FIELDS",
    "MAX_QUANTITY",
    "MOVEMENT_PERMISSIONS",
    "NEW_GOODS_TYPES",
    "NOT_ECHOED_SOURCES",
    "OUTGOING_TYPES",
    "RECOVERABLE_TYPES",
    "SET_BASED_TYPES",
    "TWO_LEG_TYPES",
    "BatchItemResult",
    "CountScope",
    "MovementRequest",
    "MovementResult",
    "ReservationRequest",
    "batch_create",
    "batch_delete",
    "batch_update",
    "batch_upsert",
    "count_line_scan",
    "count_line_scan_once",
    "count_lines_record",
    "count_task_approve",
    "count_task_cancel",
    "count_task_create",
    "count_task_submit",
    "location_create",
    "location_delete",
    "location_update",
    "location_upsert",
    "material_create",
    "material_delete",
    "material_update",
    "material_upsert",
    "may_move_stock",
    "movement_authorize",
    "movement_stored_answer",
    "stock_move",
    "stock_move_many",
    "stock_movement_reverse",
    "stock_reservation_release",
    "stock_reserve",
]
