"""Where a snapshot's rows come from: a whole file, or a node pulled page by page.

Both hand over rows in our codes: a code that lost its leading zeros is
matched to the one code of ours it stands for, and locations are mapped with
the node's location mapping. (A file too large to read whole is streamed by
:mod:`integrations.reconciliation.reader`.)
"""

from __future__ import annotations

from decimal import Decimal

from integrations import transports
from integrations.importers import material_code_candidates, parse_stock_rows
from integrations.models import Node
from integrations.reconciliation.rows import SYSTEMS, SnapshotRow
from inventory.models import Material


def known_codes(codes: set[str]) -> dict[str, str]:
    """Each of ``codes`` that stands for exactly one of our material codes, mapped to it."""
    candidates = material_code_candidates(codes, Material.objects.values_list("code", flat=True))
    return {code: found[0] for code, found in candidates.items() if len(found) == 1}


def snapshot_rows_from_file(node, data: bytes, filename: str) -> tuple[list[SnapshotRow], int]:
    """Rows of a snapshot file (any encoding or layout the importer reads), and how
    many rows were rejected as unclear (they are reported, not guessed)."""
    parsed = parse_stock_rows(data, filename, (node.field_mapping or None) if node else None)
    mapping = (node.location_mapping if node else None) or {}
    codes = known_codes({row.material_code for row in parsed.rows})
    rejected_rows = {error.row_number for error in parsed.errors}
    rows = [
        SnapshotRow(
            material_code=codes.get(row.material_code, row.material_code),
            batch=row.batch or "",
            location=mapping.get(row.location or "", row.location or ""),
            quantity=row.quantity,
        )
        for row in parsed.rows
    ]
    return rows, len(rejected_rows)


def snapshot_rows_from_records(node, records: list[dict]) -> list[SnapshotRow]:
    """Rows in our codes from a system's stock records (``material``, ``batch``,
    ``location``, ``quantity``), as a node's snapshot pages hold them."""
    codes = known_codes({str(record.get("material", "")) for record in records})
    mapping = (node.location_mapping if node else None) or {}
    return [
        SnapshotRow(
            material_code=codes.get(
                str(record.get("material", "")), str(record.get("material", ""))
            ),
            batch=str(record.get("batch") or ""),
            location=mapping.get(str(record.get("location", "")), str(record.get("location", ""))),
            quantity=Decimal(str(record.get("quantity", "0"))),
        )
        for record in records
    ]


def snapshot_rows_from_node(node) -> list[SnapshotRow]:
    """Pull a node's whole stock snapshot, page by page."""
    rows: list[dict] = []
    cursor = None
    while True:
        page, next_cursor = transports.fetch(node, "stock_snapshot", cursor)
        rows.extend(page)
        if not page or not next_cursor or next_cursor == cursor:
            break
        cursor = next_cursor
    return snapshot_rows_from_records(node, rows)


def snapshot_nodes() -> dict[str, Node]:
    """The active ERP and WMS nodes that offer a stock snapshot, by system (as at night)."""
    nodes: dict[str, Node] = {}
    for node in Node.objects.filter(is_active=True, kind__in=SYSTEMS).order_by("name"):
        if "stock_snapshot" in (node.pull_kinds or []):
            nodes.setdefault(node.kind, node)
    return nodes
