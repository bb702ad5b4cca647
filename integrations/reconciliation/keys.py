"""Snapshot rows resolved to our balance keys (material, location, batch ids).

A snapshot names a balance by codes; our balances are keyed by ids. Resolving
the codes while the rows are read (three lookups in memory per row) lets the
diff join the snapshot with the balances on integers, and says at once which
rows cannot be ours: a material or a batch we do not know, or a location we
do not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from integrations.models import Discrepancy
from integrations.reconciliation.rows import SnapshotRow
from inventory.models import Batch, Location, Material

# The batch key of a balance without a batch: ids start at 1, and the diff
# compares keys with ``=``, which never matches NULL.
NO_BATCH = 0


@dataclass(frozen=True)
class BalanceKeys:
    """Our codes and their ids, read once per run (all of them, active or not,
    as the ledger and the balances refer to all of them)."""

    materials: dict[str, int]
    locations: dict[str, int]
    batches: dict[tuple[int, str], int]

    @classmethod
    def load(cls) -> BalanceKeys:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT code, id FROM {Material._meta.db_table}")
            materials = dict(cursor.fetchall())
            cursor.execute(f"SELECT code, id FROM {Location._meta.db_table}")
            locations = dict(cursor.fetchall())
            cursor.execute(f"SELECT material_id, number, id FROM {Batch._meta.db_table}")
            batches = {(material, number): pk for material, number, pk in cursor.fetchall()}
        return cls(materials=materials, locations=locations, batches=batches)


@dataclass
class ResolvedRows:
    """What a snapshot's rows came to once resolved (counted while they are read)."""

    rows: int = 0
    ours: int = 0  # rows with a key of ours
    distinct_ours: int = 0  # distinct keys of ours among them

    @property
    def repeated(self) -> bool:
        """Whether a key of ours came in more than one row (two of their locations
        mapped to one of ours, say): then the diff sums the rows per key."""
        return self.distinct_ours < self.ours


# A resolved row: (material id, location id, batch key, None, "", "", "", quantity) for a
# balance key of ours; (None, None, None, kind, material, batch, location, quantity) for a
# row that cannot be ours, with the class of difference it is (when its quantity is not 0).
StagedRow = tuple[int | None, int | None, int | None, str | None, str, str, str, Decimal]


def rows_resolve(
    rows: Iterable[SnapshotRow], keys: BalanceKeys, resolved: ResolvedRows
) -> Iterator[StagedRow]:
    """Each row with its balance key, or with the class of difference it is when it
    cannot be ours: an unknown material, an unknown batch of a known one, or a
    location we do not have (missing in MES) - checked in this order."""
    materials, locations, batches = keys.materials, keys.locations, keys.batches
    # Keys seen, each as one integer (a set of ints costs far less than one of
    # tuples): a batch id (or minus a material id without one) times the
    # location span, plus the location id - distinct keys, distinct integers.
    span = max(locations.values(), default=0) + 1
    seen: set[int] = set()
    remember = seen.add
    count = ours = 0
    try:
        for row in rows:
            count += 1
            material = materials.get(row.material_code)
            location = locations.get(row.location)
            batch_number = row.batch or ""
            batch = batches.get((material, batch_number)) if batch_number else NO_BATCH
            if material is not None and location is not None and batch is not None:
                ours += 1
                remember((batch or -material) * span + location)
                yield (material, location, batch, None, "", "", "", row.quantity)
                continue
            if material is None:
                kind = Discrepancy.Kind.UNKNOWN_MATERIAL.value
            elif batch is None:
                kind = Discrepancy.Kind.UNKNOWN_BATCH.value
            else:
                kind = Discrepancy.Kind.MISSING_IN_MES.value
            yield (
                None,
                None,
                None,
                kind,
                row.material_code,
                batch_number,
                row.location,
                row.quantity,
            )
    finally:
        resolved.rows += count
        resolved.ours += ours
        resolved.distinct_ours += len(seen)
