"""The streaming reader of large snapshot files reads what the file importer reads."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations import reconciliation
from integrations.models import Discrepancy, Node, ReconciliationRun
from integrations.reconciliation import (
    SnapshotRow,
    reader,
    reconciliation_execute,
    reconciliation_run_start,
    snapshot_rows_from_csv_stream,
    snapshot_rows_from_file,
)
from mes.errors import ApplicationError
from tests.factories import LocationFactory, MaterialFactory

# A title line, a blank line, a code that lost its leading zeros, a thousands
# separator, a mangled code, an unreadable quantity, a duplicate key, a row
# shifted by an unquoted number and an unknown location code to map.
SNAPSHOT = (
    "ERP stock export 2026-01-31\n"
    "Material,Batch,Warehouse,Qty\n"
    "100234,L1,FG-A-01,100\n"
    '200117,,RM-A-01,"1,250.5"\n'
    "\n"
    "0200117,,WH-02,7\n"
    "1.2E+07,,RM-A-01,3\n"
    "100234,L2,FG-A-01,abc\n"
    "100234,L1,FG-A-01,99\n"
    "100234,L3,FG-A-01,1,250.00\n"
    "\uff21\uff22\uff23-1,,RM-A-01,-4\n"  # full-width ABC-1
)


@pytest.fixture
def known(db):
    MaterialFactory(code="100234", is_batch_tracked=True)
    MaterialFactory(code="0200117")
    for code in ("FG-A-01", "RM-A-01", "RM-A-02"):
        LocationFactory(code=code)


@pytest.fixture
def erp_node(db):
    return Node.objects.create(
        name="erp-files",
        kind="erp",
        transport="http_json",
        location_mapping={"WH-02": "RM-A-02"},
    )


def write(tmp_path, text, encoding="utf-8-sig", name="erp.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_stream_reads_the_rows_the_importer_reads(known, erp_node, tmp_path, encoding):
    text = SNAPSHOT + "物料说明行,,RM-A-01,1\n"
    path = write(tmp_path, text, encoding)

    stream = snapshot_rows_from_csv_stream(path, erp_node)
    rows = list(stream)
    expected, rejected = snapshot_rows_from_file(erp_node, path.read_bytes(), path.name)

    assert rows == expected
    assert stream.rejected == rejected == 4
    assert rows[:3] == [
        SnapshotRow("100234", "L1", "FG-A-01", Decimal("100")),
        SnapshotRow("0200117", "", "RM-A-01", Decimal("1250.5")),
        SnapshotRow("0200117", "", "RM-A-02", Decimal("7")),
    ]
    assert SnapshotRow("ABC-1", "", "RM-A-01", Decimal("-4")) in rows


def test_stream_of_a_tab_separated_file_in_chunks(known, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "STREAM_CHUNK_ROWS", 2)
    lines = ["item_code\tlot\tlocation\ton_hand"] + [
        f"100234\tB{i}\tFG-A-01\t{i}" for i in range(7)
    ]
    path = write(tmp_path, "\n".join(lines) + "\n", name="erp.tsv")

    rows = list(snapshot_rows_from_csv_stream(path))

    assert [row.batch for row in rows] == [f"B{i}" for i in range(7)]
    assert rows == snapshot_rows_from_file(None, path.read_bytes(), path.name)[0]


def test_a_file_without_the_required_columns_is_refused_at_once(known, tmp_path):
    path = write(tmp_path, "Material,Warehouse\n100234,FG-A-01\n")
    with pytest.raises(ApplicationError) as caught:
        snapshot_rows_from_csv_stream(path)
    assert caught.value.error == reconciliation.EMPTY_SNAPSHOT


@pytest.mark.django_db(transaction=True)  # the failed load aborts the transaction
def test_a_file_without_a_readable_row_fails_the_run(known, tmp_path):
    path = write(tmp_path, "Material,Warehouse,Qty\n1.2E+07,FG-A-01,3\n")
    run, _ = reconciliation_run_start(trigger="command", cutoff_at=timezone.now())
    with pytest.raises(ApplicationError):
        reconciliation_execute(run, {"erp": snapshot_rows_from_csv_stream(path)})
    run.refresh_from_db()
    assert run.state == ReconciliationRun.State.FAILED
    assert not Discrepancy.objects.filter(run=run).exists()


def test_a_streamed_run_matches_a_run_read_whole(known, erp_node, tmp_path):
    path = write(tmp_path, SNAPSHOT)
    cutoff = timezone.now()
    streamed, _ = reconciliation_run_start(trigger="command", cutoff_at=cutoff)
    reconciliation_execute(streamed, {"erp": snapshot_rows_from_csv_stream(path, erp_node)})
    rows, rejected = snapshot_rows_from_file(erp_node, path.read_bytes(), path.name)
    whole, _ = reconciliation_run_start(trigger="command", cutoff_at=cutoff)
    reconciliation_execute(whole, {"erp": rows}, rejected_rows=rejected)

    def found(run):
        return sorted(
            Discrepancy.objects.filter(run=run).values_list(
                "kind", "material_code", "batch", "location", "difference"
            )
        )

    streamed.refresh_from_db()
    whole.refresh_from_db()
    assert found(streamed) == found(whole)
    assert len(found(streamed)) == 4
    assert streamed.summary == whole.summary
    assert streamed.summary["rows_rejected"] == 4
    assert streamed.summary["loaded"] == {"erp": 4}


def test_reconcile_command_streams_a_large_file(known, erp_node, tmp_path, monkeypatch):
    monkeypatch.setattr(reconciliation, "STREAM_FILE_BYTES", 10)
    called = []
    original = reconciliation.snapshot_rows_from_csv_stream

    def spy(path, node):
        called.append(path)
        return original(path, node)

    monkeypatch.setattr(reconciliation, "snapshot_rows_from_csv_stream", spy)
    out = StringIO()
    call_command("reconcile", "--erp", str(write(tmp_path, SNAPSHOT)), "--dry-run", stdout=out)

    assert called
    assert "4 differences" in out.getvalue()
    assert "4 rows rejected" in out.getvalue()
