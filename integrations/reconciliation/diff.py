"""The diff, in SQL: one FULL OUTER JOIN per system classifies and stores every difference.

Our side is summed from the ledger at the cut-off, so movements recorded
after the export was taken are not differences.
"""

from __future__ import annotations

from django.db import connection

from integrations.models import Discrepancy, Node, ReconciliationRun
from integrations.reconciliation.staging import staging_table
from inventory.models import Batch, Location, Material, StockLedgerEntry

_DIFF_SQL = """
INSERT INTO {discrepancy} (
    run_id, system, kind, material_code, batch, location,
    mes_quantity, other_quantity, difference, repair, repair_movement_id
)
SELECT
    %(run)s, %(system)s,
    CASE
        WHEN snap.material_code IS NOT NULL AND known.id IS NULL THEN 'unknown_material'
        WHEN snap.material_code IS NOT NULL AND snap.batch <> '' AND known_batch.id IS NULL
            THEN 'unknown_batch'
        WHEN mes.qty IS NULL OR mes.qty = 0 THEN 'missing_in_mes'
        WHEN snap.qty IS NULL OR snap.qty = 0 THEN %(missing_other)s
        ELSE 'quantity_mismatch'
    END,
    COALESCE(mes.material_code, snap.material_code),
    COALESCE(mes.batch, snap.batch),
    COALESCE(mes.location, snap.location),
    COALESCE(mes.qty, 0),
    COALESCE(snap.qty, 0),
    COALESCE(snap.qty, 0) - COALESCE(mes.qty, 0),
    'none', NULL
FROM (
    SELECT m.code AS material_code, COALESCE(b.number, '') AS batch, l.code AS location,
           SUM(e.quantity) AS qty
    FROM {ledger} e
    JOIN {material} m ON m.id = e.material_id
    JOIN {location} l ON l.id = e.location_id
    LEFT JOIN {batch} b ON b.id = e.batch_id
    WHERE e.occurred_at <= %(cutoff)s {location_types}
    GROUP BY m.code, COALESCE(b.number, ''), l.code
) mes
FULL OUTER JOIN (
    SELECT material_code, batch, location, SUM(quantity) AS qty
    FROM {snapshot}
    WHERE run_id = %(run)s AND system = %(system)s
    GROUP BY material_code, batch, location
) snap
    ON snap.material_code = mes.material_code
    AND snap.batch = mes.batch
    AND snap.location = mes.location
LEFT JOIN {material} known ON known.code = snap.material_code
LEFT JOIN {batch} known_batch
    ON known_batch.material_id = known.id AND known_batch.number = snap.batch
WHERE ROUND(COALESCE(snap.qty, 0) - COALESCE(mes.qty, 0), 6) <> 0
"""


def _reconciled_location_types(system: str) -> list[str]:
    """The location types the system's node keeps stock in; empty: all of them."""
    node = Node.objects.filter(kind=system, is_active=True).order_by("pk").first()
    return list(node.reconciled_location_types) if node else []


def discrepancies_store(run: ReconciliationRun, system: str) -> int:
    """Compare the system's staged snapshot with our stock at the run's cut-off and store
    one Discrepancy per differing balance; returns how many."""
    # A WMS that does not see pending put-away or line-side stock is compared
    # with our stock in the location types it keeps, not with all of it.
    location_types = _reconciled_location_types(system)
    type_params = {f"type_{index}": value for index, value in enumerate(location_types)}
    type_filter = (
        "AND l.location_type IN ({})".format(", ".join(f"%({key})s" for key in type_params))
        if type_params
        else ""
    )
    sql = _DIFF_SQL.format(
        location_types=type_filter,
        discrepancy=Discrepancy._meta.db_table,
        ledger=StockLedgerEntry._meta.db_table,
        material=Material._meta.db_table,
        location=Location._meta.db_table,
        batch=Batch._meta.db_table,
        snapshot=staging_table(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "run": run.pk,
                "system": system,
                "cutoff": run.cutoff_at,
                "missing_other": f"missing_in_{system}",
                **type_params,
            },
        )
        return cursor.rowcount
