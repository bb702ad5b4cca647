"""Snapshots on the database the suite runs on (PostgreSQL or SQLite): a round trip
keeps row counts and the ledger's checksum; a rollback exports what came after."""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from inventory.models import StockMovement
from mes.errors import ApplicationError
from releases import maintenance, snapshots
from releases.models import Release
from releases.services.releases import rollback_run
from releases.snapshots import postgres
from tests.releases.conftest import ledger_state

pytestmark = pytest.mark.django_db(transaction=True)


def test_snapshot_restore_round_trip_keeps_counts_and_ledger_checksum(receive):
    for quantity in (1, 2, 3):
        receive(quantity)
    before = ledger_state()
    snapshot = snapshots.snapshot_create(label="test")
    receive(7)
    receive(8)
    assert ledger_state() != before

    snapshots.snapshot_restore(snapshot.id)

    assert ledger_state() == before
    assert before[0] == 3 and before[1] >= 3
    assert snapshot.size_bytes > 0
    assert (
        snapshot.high_water["inventory.StockMovement"]
        == StockMovement.objects.order_by("pk").last().pk
    )


def test_snapshot_list_and_prune_keep_the_newest(receive):
    taken = [snapshots.snapshot_create(label=str(n)).id for n in range(3)]
    assert [s.id for s in snapshots.snapshot_list()] == sorted(taken, reverse=True)

    dropped = snapshots.snapshot_prune(keep=1)

    assert sorted(dropped) == sorted(taken)[:2]
    assert [s.id for s in snapshots.snapshot_list()] == [max(taken)]
    with pytest.raises(ApplicationError) as error:
        snapshots.snapshot_restore(sorted(taken)[0])
    assert error.value.code == "REL-005"


def test_snapshot_command_creates_lists_and_restores(receive, capsys):
    receive(1)
    before = ledger_state()
    call_command("snapshot", "create", "--label", "by hand")
    snapshot_id = snapshots.snapshot_list()[0].id
    receive(2)
    call_command("snapshot", "list")
    assert snapshot_id in capsys.readouterr().out

    call_command("snapshot", "restore", snapshot_id)

    assert ledger_state() == before
    assert not maintenance.active()


def test_rollback_exports_what_came_after_the_snapshot_then_restores(receive, tmp_path):
    receive(1)
    before = ledger_state()
    snapshot = snapshots.snapshot_create(label="0.1-old")
    release = Release.objects.create(
        state=Release.State.SUCCEEDED,
        version="0.2-new",
        previous_version="0.1-old",
        snapshot_id=snapshot.id,
        actor="it",
    )
    after = [receive(4).movement.pk, receive(5).movement.pk]

    result = rollback_run(actor="it", export_root=tmp_path / "exports", code="none")

    assert ledger_state() == before
    assert result.exported["inventory.StockMovement"] == 2
    exported = json.loads((result.export_dir / "inventory.StockMovement.json").read_text())
    assert sorted(row["pk"] for row in exported) == sorted(after)
    csv_lines = (result.export_dir / "inventory.StockMovement.csv").read_text().splitlines()
    assert len(csv_lines) == 3  # the header and the two movements
    summary = json.loads((result.export_dir / "summary.json").read_text())
    assert summary["snapshot"] == snapshot.id
    # The history survives the restore, with the rollback recorded after it.
    kinds = list(Release.objects.order_by("pk").values_list("pk", "kind", "version"))
    assert kinds[0] == (release.pk, "release", "0.2-new")
    assert kinds[-1][1:] == ("rollback", "0.1-old")
    assert result.statuses["/readyz"] == 200
    assert not maintenance.active()


def test_rollback_without_a_release_is_refused_and_changes_nothing(receive):
    receive(1)
    before = ledger_state()
    with pytest.raises(ApplicationError) as error:
        rollback_run(actor="it", code="none")
    assert error.value.code == "REL-010"
    assert ledger_state() == before


@pytest.mark.postgres
def test_postgres_snapshot_with_dump_restores_from_the_dump_when_the_copy_is_gone(receive):
    receive(3)
    before = ledger_state()
    snapshot = snapshots.snapshot_create(dump=True)
    receive(9)
    postgres.drop(connection.settings_dict, snapshot.clone)
    snapshots.snapshot_restore(snapshot.id)

    assert ledger_state() == before
