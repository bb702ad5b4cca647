"""Inventory REST API: master data, balances, the ledger and movements, reservations.

- :mod:`.master_data` - materials, locations, batches;
- :mod:`.stock` - the stock list (cursor pages of value rows);
- :mod:`.movements` - movements: the ledger, one, a batch, a reversal, and replays
  answered from one SELECT;
- :mod:`.reservations` - stock set aside and released;
- :mod:`.answers` - how quantities, times and the replay header are written.

Callers import from ``inventory.api``; the names below stay importable here.
"""

from inventory.api.answers import IDEMPOTENCY_HEADER, REPLAYED_HEADER
from inventory.api.master_data import (
    BatchSerializer,
    BatchViewSet,
    LocationSerializer,
    LocationViewSet,
    MaterialSerializer,
    MaterialViewSet,
)
from inventory.api.movements import (
    MOVEMENT_OUTPUT,
    MovementBatchApi,
    MovementInputSerializer,
    MovementListCreateApi,
    MovementOutputSerializer,
    MovementReverseApi,
    movement_answer_data,
    movement_result_data,
    movement_results_data,
)
from inventory.api.reservations import (
    ReservationListCreateApi,
    ReservationOutputSerializer,
    ReservationReleaseApi,
)
from inventory.api.stock import (
    StockBalanceListApi,
    StockBalanceOutputSerializer,
    StockBalancePages,
    balance_row_data,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MOVEMENT_OUTPUT",
    "REPLAYED_HEADER",
    "BatchSerializer",
    "BatchViewSet",
    "LocationSerializer",
    "LocationViewSet",
    "MaterialSerializer",
    "MaterialViewSet",
    "MovementBatchApi",
    "MovementInputSerializer",
    "MovementListCreateApi",
    "MovementOutputSerializer",
    "MovementReverseApi",
    "ReservationListCreateApi",
    "ReservationOutputSerializer",
    "ReservationReleaseApi",
    "StockBalanceListApi",
    "StockBalanceOutputSerializer",
    "StockBalancePages",
    "balance_row_data",
    "movement_answer_data",
    "movement_result_data",
    "movement_results_data",
]
