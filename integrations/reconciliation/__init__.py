"""The nightly reconciliation: our stock at a cut-off against ERP and WMS snapshots.

Set-based: snapshot lines are resolved to our balance keys while they are read
and loaded into a temporary staging table in bulk (COPY on PostgreSQL), our
balance at the cut-off is each balance less the ledger entries after the
cut-off, and one FULL OUTER JOIN per system classifies and stores every
difference. Python only loops over the differences that a policy lets it
repair, and repairs go through ``inventory.services`` as adjustments tagged
*exception-recovered data*, dated at the cut-off, with idempotency keys made
of the night, the system and the balance key - so re-running a night (after
a crash, or twice) applies nothing a second time.

Modules, by job: ``errors`` (REC codes), ``rows`` (a snapshot row),
``sources`` (rows from a file or a node), ``reader`` (a large file streamed),
``keys`` (rows resolved to our ids), ``staging`` (rows staged in bulk),
``diff`` (the SQL diff), ``repairs`` (policies and decisions), ``runs`` (one
run, start to summary), ``submissions`` (runs started from the page),
``selectors`` (reads).
"""

from integrations.reconciliation.diff import discrepancies_store
from integrations.reconciliation.errors import (
    EMPTY_SNAPSHOT,
    MANY_DIFFERENCES,
    NO_SOURCE,
    NOT_PENDING,
    RUN_FAILED,
    RUN_NOT_FOUND,
)
from integrations.reconciliation.reader import (
    STREAM_CHUNK_ROWS,
    STREAM_FILE_BYTES,
    STREAM_HEAD_BYTES,
    STREAM_STYLE_ROWS,
    SnapshotFileStream,
    snapshot_rows_from_csv_stream,
)
from integrations.reconciliation.repairs import (
    RECOVERED_REASON,
    REPAIRABLE,
    discrepancies_decide,
    repair_key,
    repairs_apply,
)
from integrations.reconciliation.rows import SYSTEMS, SnapshotRow
from integrations.reconciliation.runs import (
    default_cutoff,
    reconciliation_execute,
    reconciliation_run_nightly,
    reconciliation_run_start,
)
from integrations.reconciliation.selectors import pending_repairs_count, trend
from integrations.reconciliation.sources import (
    snapshot_nodes,
    snapshot_rows_from_file,
    snapshot_rows_from_node,
    snapshot_rows_from_records,
)
from integrations.reconciliation.staging import STAGING_TABLE, StagedSnapshot, snapshot_load
from integrations.reconciliation.submissions import (
    UPLOAD_SUBDIR,
    reconciliation_run_from_sources,
    reconciliation_run_submit,
    reconciliation_upload_dir,
    reconciliation_upload_save,
)

__all__ = [
    "EMPTY_SNAPSHOT",
    "MANY_DIFFERENCES",
    "NOT_PENDING",
    "NO_SOURCE",
    "RECOVERED_REASON",
    "REPAIRABLE",
    "RUN_FAILED",
    "RUN_NOT_FOUND",
    "STAGING_TABLE",
    "STREAM_CHUNK_ROWS",
    "STREAM_FILE_BYTES",
    "STREAM_HEAD_BYTES",
    "STREAM_STYLE_ROWS",
    "SYSTEMS",
    "UPLOAD_SUBDIR",
    "SnapshotFileStream",
    "SnapshotRow",
    "StagedSnapshot",
    "default_cutoff",
    "discrepancies_decide",
    "discrepancies_store",
    "pending_repairs_count",
    "reconciliation_execute",
    "reconciliation_run_from_sources",
    "reconciliation_run_nightly",
    "reconciliation_run_start",
    "reconciliation_run_submit",
    "reconciliation_upload_dir",
    "reconciliation_upload_save",
    "repair_key",
    "repairs_apply",
    "snapshot_load",
    "snapshot_nodes",
    "snapshot_rows_from_csv_stream",
    "snapshot_rows_from_file",
    "snapshot_rows_from_node",
    "snapshot_rows_from_records",
    "trend",
]
