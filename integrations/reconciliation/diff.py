"""The diff, in SQL: one FULL OUTER JOIN per system classifies and stores every difference.

Our side is our stock at the cut-off: each balance less what the ledger moved
after the cut-off. As ``sum(ledger) == balance`` for every key, this is the
ledger summed up to the cut-off without reading two years of it; movements
recorded after the export was taken are not differences. The entries after the
cut-off are found through their movements' dates (indexed; an entry is dated
with its movement, ``inventory.services.ledger.leg_post``) and checked on their
own. Both sides are keyed by ids; codes are looked up for the differences only.
"""

from __future__ import annotations

from django.db import connection, transaction

from integrations.models import Discrepancy, Node, ReconciliationRun
from integrations.reconciliation.staging import STAGING_TABLE
from inventory.models import (
    Batch,
    Location,
    Material,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
)

# Memory for the diff's sorts and hashes on PostgreSQL, for its transaction only: with
# the default (4MB) the few hundred thousand keys of a plant are sorted on disk.
DIFF_WORK_MEM = "64MB"

# Their quantity per key of ours: one staged line per key, unless a key came twice.
_THEIRS_UNIQUE = """
    SELECT material_id, location_id, batch_key, quantity AS qty
    FROM {staging}
    WHERE system = %(system)s AND unknown IS NULL
"""
_THEIRS_SUMMED = """
    SELECT material_id, location_id, batch_key, SUM(quantity) AS qty
    FROM {staging}
    WHERE system = %(system)s AND unknown IS NULL
    GROUP BY material_id, location_id, batch_key
"""

_DIFF_SQL = """
INSERT INTO {discrepancy} (
    run_id, system, kind, material_code, batch, location,
    mes_quantity, other_quantity, difference, repair, repair_movement_id
)
SELECT
    %(run)s, %(system)s, kind, material_code, batch, location,
    mes_quantity, other_quantity, other_quantity - mes_quantity, 'none', NULL
FROM (
    SELECT
        CASE
            WHEN ours.qty IS NULL OR ours.qty = 0 THEN 'missing_in_mes'
            WHEN theirs.qty IS NULL OR theirs.qty = 0 THEN %(missing_other)s
            ELSE 'quantity_mismatch'
        END AS kind,
        m.code AS material_code,
        COALESCE(b.number, '') AS batch,
        l.code AS location,
        COALESCE(ours.qty, 0) AS mes_quantity,
        COALESCE(theirs.qty, 0) AS other_quantity
    FROM (
        SELECT sb.material_id, sb.location_id, COALESCE(sb.batch_id, 0) AS batch_key,
               sb.on_hand - COALESCE(late.qty, 0) AS qty
        FROM {balance} sb
        LEFT JOIN (
            SELECT material_id, location_id, COALESCE(batch_id, 0) AS batch_key,
                   SUM(quantity) AS qty
            FROM {ledger}
            WHERE occurred_at > %(cutoff)s
                AND movement_id IN (SELECT id FROM {movement} WHERE occurred_at > %(cutoff)s)
            GROUP BY material_id, location_id, COALESCE(batch_id, 0)
        ) late
            ON late.material_id = sb.material_id
            AND late.location_id = sb.location_id
            AND late.batch_key = COALESCE(sb.batch_id, 0)
        {location_types}
    ) ours
    FULL OUTER JOIN ({theirs}) theirs
        ON theirs.material_id = ours.material_id
        AND theirs.location_id = ours.location_id
        AND theirs.batch_key = ours.batch_key
    JOIN {material} m ON m.id = COALESCE(ours.material_id, theirs.material_id)
    JOIN {location} l ON l.id = COALESCE(ours.location_id, theirs.location_id)
    LEFT JOIN {batch} b ON b.id = COALESCE(ours.batch_key, theirs.batch_key)
    WHERE ROUND(COALESCE(theirs.qty, 0) - COALESCE(ours.qty, 0), 6) <> 0
    UNION ALL
    SELECT unknown, material_code, batch, location, 0, SUM(quantity)
    FROM {staging}
    WHERE system = %(system)s AND unknown IS NOT NULL
    GROUP BY unknown, material_code, batch, location
    HAVING ROUND(SUM(quantity), 6) <> 0
) differences
ORDER BY material_code, batch, location
"""


def _reconciled_location_types(system: str) -> list[str]:
    """The location types the system's node keeps stock in; empty: all of them."""
    node = Node.objects.filter(kind=system, is_active=True).order_by("pk").first()
    return list(node.reconciled_location_types) if node else []


def discrepancies_store(run: ReconciliationRun, system: str, *, repeated: bool = True) -> int:
    """Compare the system's staged snapshot with our stock at the run's cut-off and store
    one Discrepancy per differing balance (in code order); returns how many.

    ``repeated=False`` says the staging holds at most one line per key of ours
    (``snapshot_load`` knows), which spares summing them.
    """
    # A WMS that does not see pending put-away or line-side stock is compared
    # with our stock in the location types it keeps, not with all of it.
    location_types = _reconciled_location_types(system)
    type_params = {f"type_{index}": value for index, value in enumerate(location_types)}
    type_filter = ""
    if type_params:
        types = ", ".join(f"%({key})s" for key in type_params)
        type_filter = (
            f"WHERE sb.location_id IN "
            f"(SELECT id FROM {Location._meta.db_table} WHERE location_type IN ({types}))"
        )
    sql = _DIFF_SQL.format(
        location_types=type_filter,
        theirs=(_THEIRS_SUMMED if repeated else _THEIRS_UNIQUE).format(staging=STAGING_TABLE),
        discrepancy=Discrepancy._meta.db_table,
        balance=StockBalance._meta.db_table,
        ledger=StockLedgerEntry._meta.db_table,
        movement=StockMovement._meta.db_table,
        material=Material._meta.db_table,
        location=Location._meta.db_table,
        batch=Batch._meta.db_table,
        staging=STAGING_TABLE,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{DIFF_WORK_MEM}'")
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
