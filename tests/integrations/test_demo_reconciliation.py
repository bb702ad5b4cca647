"""The reconciliation in the demo: the fakes' snapshots are pulled, a week of runs
shows a trend, today's differences wait for approval, and the hints send each
reader somewhere they may go."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from drills.fakes.process import running_fake
from drills.paths import ROOT
from integrations import demo, selectors
from integrations.models import Discrepancy, Node, ReconciliationRun
from integrations.services import node_pull
from tests.factories import UserFactory

HISTORY_URL = reverse("integrations:reconciliation")
START_URL = reverse("integrations:reconciliation_start")
SEEDS = ROOT / "drills" / "fakes"


def demo_data() -> str:
    out = StringIO()
    call_command("demo_data", stdout=out)
    return out.getvalue()


def seed_stock(name: str) -> list[dict]:
    seed = json.loads((SEEDS / f"demo_{name}.json").read_text(encoding="utf-8"))
    return [
        {key: entry[key] for key in ("material", "batch", "location", "quantity")}
        for entry in seed["stock_snapshot"]
    ]


def test_the_demo_compares_the_snapshots_the_fakes_start_with():
    assert seed_stock("erp") == demo.ERP_SNAPSHOT
    assert seed_stock("wms") == demo.WMS_SNAPSHOT


@pytest.mark.django_db
def test_demo_nodes_offer_snapshots_that_the_regular_pull_leaves_alone():
    demo_data()

    erp, wms = Node.objects.get(name="erp"), Node.objects.get(name="wms")
    assert "stock_snapshot" in erp.pull_kinds and "stock_snapshot" in wms.pull_kinds
    assert wms.reconciled_location_types == ["storage"]
    assert PeriodicTask.objects.filter(name="pull:erp").exists()
    assert not PeriodicTask.objects.filter(name="pull:wms").exists()  # nothing to apply


@pytest.mark.django_db
def test_a_demo_node_from_before_is_given_its_snapshot():
    Node.objects.create(
        name="wms", kind="wms", transport="http_json", base_url="http://127.0.0.1:8102"
    )

    demo_data()

    wms = Node.objects.get(name="wms")
    assert wms.pull_kinds == ["stock_snapshot"]
    assert wms.reconciled_location_types == ["storage"]


@pytest.mark.django_db
def test_the_demo_has_a_week_of_nights_and_differences_to_approve(client):
    first = demo_data()
    second = demo_data()

    runs = ReconciliationRun.objects.order_by("run_date")
    assert runs.count() == len(demo.NIGHT_DRIFT) + 1
    assert {run.state for run in runs} == {"succeeded"}
    assert [run.dry_run for run in runs] == [True] * len(demo.NIGHT_DRIFT) + [False]
    nights = [night for night in selectors.reconciliation_trend() if night.discrepancies]
    assert len(nights) == len(demo.NIGHT_DRIFT) + 1
    assert len({night.discrepancies for night in nights}) > 1  # a trend, not a flat line
    today = runs.last()
    assert today.trigger == "manual" and today.started_by.username == "planner"
    pending = Discrepancy.objects.filter(run=today, repair="pending")
    assert pending.filter(system="wms", material_code="100235", difference=-2).exists()
    assert pending.filter(system="wms", material_code="0200118", kind="missing_in_wms").exists()
    # 0200117 lost its leading zero in the WMS: matched, not a difference.
    assert not Discrepancy.objects.filter(run=today, material_code__in=["200117"]).exists()
    assert "runs, the last one waits for approval" in first
    assert "Reconciliation demo" not in second

    client.force_login(UserFactory(username="planner-2", roles=["planner"]))
    page = client.get(HISTORY_URL).content.decode()
    assert "wait for approval" in page and "erp" in page and "wms" in page


@pytest.fixture
def demo_fakes(monkeypatch):
    """The fake ERP and WMS of `make run`, seeded as there, on free ports."""
    with (
        running_fake("erp", seed=SEEDS / "demo_erp.json") as erp,
        running_fake("wms", seed=SEEDS / "demo_wms.json") as wms,
    ):
        monkeypatch.setenv("FAKE_ERP_PORT", str(erp.port))
        monkeypatch.setenv("FAKE_WMS_PORT", str(wms.port))
        yield erp, wms


@pytest.mark.django_db
def test_a_planner_pulls_from_the_demo_fakes_and_sees_the_differences(
    client, demo_fakes, eager_celery, django_capture_on_commit_callbacks
):
    demo_data()
    client.force_login(UserFactory(username="planner-2", roles=["planner"]))

    page = client.get(HISTORY_URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(START_URL, {"pull_from_nodes": "on"})

    assert "ERP · erp" in page and "WMS · wms" in page
    assert response.status_code == 302, response.content.decode()
    run = ReconciliationRun.objects.get(started_by__username="planner-2")
    assert run.state == "succeeded", run.error
    assert run.summary["loaded"] == {"erp": 5, "wms": 4}
    assert run.summary["discrepancies"] > 0
    assert run.discrepancies.filter(system="wms", material_code="100235").exists()
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_the_regular_pull_skips_the_snapshot_and_applies_the_records(demo_fakes):
    erp, _wms = demo_fakes
    node = Node.objects.create(
        name="erp",
        kind="erp",
        transport="http_json",
        base_url=erp.base_url,
        pull_kinds=["stock_snapshot", "materials"],
        timeout_seconds=5,
    )

    counts = node_pull(node_id=node.pk)

    assert counts == {"materials": 4}
    node.refresh_from_db()
    assert node.last_error_code == ""


@pytest.mark.django_db
def test_without_a_snapshot_node_each_reader_is_sent_where_they_may_go(client):
    client.force_login(UserFactory(roles=["planner"]))
    planner_page = client.get(HISTORY_URL).content.decode()
    client.force_login(UserFactory(roles=["supervisor"], is_staff=True))
    supervisor_page = client.get(HISTORY_URL).content.decode()

    nodes_url = reverse("admin:integrations_node_changelist")
    assert "a supervisor can connect the ERP or WMS" in planner_page
    assert nodes_url not in planner_page
    assert f'href="{nodes_url}"' in supervisor_page
    assert "<code>stock_snapshot</code>" in supervisor_page
