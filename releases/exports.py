"""What a rollback saves before it restores: rows written after the snapshot.

For each exported model (``releases.snapshots.exported_models``: stock
movements, ledger entries, work-order events, floor faults and refusals), the
rows whose id is above the snapshot's high-water mark, as Django JSON
(loadable with ``loaddata``) and as CSV for people, plus ``summary.json``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core import serializers

from releases.snapshots import Snapshot, exported_models


def export_after(snapshot: Snapshot, folder: Path) -> dict[str, int]:
    """Write the rows after ``snapshot`` under ``folder``; rows per model label."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for model in exported_models():
        label = model._meta.label
        rows = model.objects.filter(pk__gt=snapshot.high_water.get(label, 0)).order_by("pk")
        counts[label] = rows.count()
        if not counts[label]:
            continue
        with (folder / f"{label}.json").open("w") as out:
            serializers.serialize("json", rows.iterator(chunk_size=2000), stream=out)
        columns = [f.attname for f in model._meta.concrete_fields]
        with (folder / f"{label}.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            for values in rows.values_list(*columns).iterator(chunk_size=2000):
                writer.writerow(values)
    summary = {"snapshot": snapshot.id, "taken_at": snapshot.created_at, "rows": counts}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return counts
