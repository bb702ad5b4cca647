"""The release command: pre-flight refusals change nothing; a release is recorded."""

import pytest
from django.core.management import call_command
from django.db import migrations

from mes.errors import ApplicationError
from mes.version import current_version
from releases import snapshots
from releases.models import Release
from releases.services import preflight
from releases.services.releases import release_run


def _noop(apps, schema_editor):
    pass


class OneWay(migrations.Migration):
    operations = [migrations.RunPython(_noop)]


class OneWayWithReason(migrations.Migration):
    irreversible_reason = "drops a column the old code never read"
    operations = [migrations.RunPython(_noop)]


def test_irreversible_migration_without_a_reason_is_refused():
    report = preflight.Preflight()
    with pytest.raises(ApplicationError) as error:
        preflight.check_migrations(report, [OneWay("0099_one_way", "inventory")])
    assert error.value.code == "REL-002"
    assert error.value.fields == {"migrations": ["inventory.0099_one_way"]}


def test_irreversible_migration_with_a_reason_passes_and_is_reported():
    report = preflight.Preflight()
    preflight.check_migrations(report, [OneWayWithReason("0099_one_way", "inventory")])
    assert report.irreversible_with_reason == {
        "inventory.0099_one_way": "drops a column the old code never read"
    }


@pytest.mark.django_db
def test_release_refused_by_pre_flight_takes_no_snapshot_and_records_nothing(monkeypatch):
    monkeypatch.setattr(
        preflight, "pending_migrations", lambda: [OneWay("0099_one_way", "inventory")]
    )
    with pytest.raises(ApplicationError) as error:
        release_run(actor="it", check_workers=False)
    assert error.value.code == "REL-002"
    assert snapshots.snapshot_list() == []
    assert not Release.objects.exists()


@pytest.mark.django_db
def test_too_little_disk_and_busy_workers_are_refused(monkeypatch):
    monkeypatch.setattr(snapshots, "free_disk_bytes", lambda: 0)
    with pytest.raises(ApplicationError) as error:
        preflight.preflight_run(check_workers_drained=False)
    assert error.value.code == "REL-003"
    monkeypatch.undo()
    monkeypatch.setattr(preflight, "active_task_count", lambda: 2)
    with pytest.raises(ApplicationError) as error:
        preflight.preflight_run(wait_seconds=0)
    assert error.value.code == "REL-004"


@pytest.mark.django_db(transaction=True)
def test_release_command_snapshots_migrates_checks_and_records(capsys):
    call_command("release", "--no-worker-check", "--actor", "it-admin")

    release = Release.objects.get()
    assert (release.kind, release.state, release.actor) == ("release", "succeeded", "it-admin")
    assert release.version == current_version()
    assert release.migration_heads["releases"] == "0002_waffle_flag_tables"
    assert [s.id for s in snapshots.snapshot_list()] == [release.snapshot_id]
    assert "/readyz" in release.note
