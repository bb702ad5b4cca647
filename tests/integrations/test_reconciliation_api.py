"""The reconciliation API: runs, one run's summary, its differences, decisions."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations import reconciliation
from integrations.models import RepairPolicy
from integrations.reconciliation import SnapshotRow, reconciliation_execute
from inventory.models import StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move
from tests.factories import LocationFactory, MaterialFactory

RUNS_URL = "/api/v1/reconciliation/runs/"
_keys = itertools.count()


def row(material, location, quantity, batch=""):
    return SnapshotRow(material, batch, location, Decimal(quantity))


@pytest.fixture
def runs(db):
    """An older run that matched everything and a newer one with one pending repair."""
    MaterialFactory(code="0200117", name="Bearing 6204", category="RM")
    for code in ("RM-A-01", "RM-A-02", "WH1-A-01"):
        LocationFactory(code=code)
    cutoff = timezone.now() - timedelta(hours=1)
    for location, quantity in (("RM-A-01", 50), ("RM-A-02", 7)):
        stock_move(
            actor=None,
            idempotency_key=f"api-{next(_keys)}",
            request=MovementRequest(
                "receipt",
                "0200117",
                location,
                Decimal(quantity),
                occurred_at=cutoff - timedelta(hours=1),
            ),
        )
    RepairPolicy.objects.create(
        category="RM", source_of_truth="erp", auto_limit_quantity=5, auto_limit_percent=10
    )
    older, _ = reconciliation.reconciliation_run_start(trigger="command", cutoff_at=cutoff)
    reconciliation_execute(
        older, {"erp": [row("0200117", "RM-A-01", 50), row("0200117", "RM-A-02", 7)]}
    )
    newer, _ = reconciliation.reconciliation_run_start(trigger="manual", cutoff_at=cutoff)
    reconciliation_execute(
        newer,
        {
            "erp": [
                row("0200117", "RM-A-01", 48),  # within the limit: repaired
                row("0200117", "RM-A-02", 1),  # 6 short: waits for approval
                row("X-1", "WH1-A-01", 3),
                row("X-2", "WH1-A-01", 30),
            ]
        },
    )
    return older, newer


def signed_in(api_client, user_with_role, role):
    api_client.force_authenticate(user_with_role(role))
    return api_client


# --- Access --------------------------------------------------------------------------
@pytest.mark.django_db
def test_anonymous_callers_get_401_with_the_error_payload(api_client, runs):
    response = api_client.get(RUNS_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "API-002"


@pytest.mark.django_db
def test_callers_without_the_view_permission_get_403(api_client, user_factory, runs):
    api_client.force_authenticate(user_factory())
    _older, newer = runs
    for url in (RUNS_URL, f"{RUNS_URL}{newer.pk}/", f"{RUNS_URL}{newer.pk}/discrepancies/"):
        response = api_client.get(url)
        assert response.status_code == 403
        assert response.json() == {
            "code": "API-003",
            "severity": "C",
            "message": "You do not have permission to do this.",
            "fields": {},
        }


# --- Reading -------------------------------------------------------------------------
@pytest.mark.django_db
def test_runs_newest_first_with_live_counts(api_client, user_with_role, runs):
    older, newer = runs
    body = signed_in(api_client, user_with_role, "team_leader").get(RUNS_URL).json()
    assert body["count"] == 2
    first, second = body["results"]
    assert [first["id"], second["id"]] == [newer.pk, older.pk]
    assert first["state"] == "succeeded" and first["trigger"] == "manual"
    assert first["discrepancies"] == 4
    assert first["repairs_applied"] == 1 and first["repairs_pending_approval"] == 1
    assert second["discrepancies"] == 0


@pytest.mark.django_db
def test_one_run_has_its_summary_and_live_counts(api_client, user_with_role, runs):
    _older, newer = runs
    body = signed_in(api_client, user_with_role, "planner").get(f"{RUNS_URL}{newer.pk}/").json()
    assert body["id"] == newer.pk and body["error"] == ""
    assert body["summary"]["loaded"] == {"erp": 4}
    assert body["summary"]["repairs_pending_approval"] == 1
    assert body["counts"]["total"] == 4
    assert body["counts"]["by_class"]["unknown_material"] == 2
    assert body["counts"]["by_repair"] == {
        "none": 2,
        "applied": 1,
        "pending": 1,
        "rejected": 0,
        "outbound": 0,
    }


@pytest.mark.django_db
def test_an_unknown_run_is_404_with_its_code(api_client, user_with_role, runs):
    client = signed_in(api_client, user_with_role, "supervisor")
    for response in (
        client.get(f"{RUNS_URL}999999/"),
        client.get(f"{RUNS_URL}999999/discrepancies/"),
        client.post(f"{RUNS_URL}999999/decide/", {"ids": [1], "approve": True}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "REC-003"


@pytest.mark.django_db
def test_differences_filter_and_sort_as_on_the_page(api_client, user_with_role, runs):
    _older, newer = runs
    client = signed_in(api_client, user_with_role, "planner")
    url = f"{RUNS_URL}{newer.pk}/discrepancies/"

    body = client.get(url).json()
    assert body["count"] == 4
    assert [item["difference"] for item in body["results"]] == [
        "30.000000",
        "-6.000000",
        "3.000000",
        "-2.000000",
    ]  # largest absolute difference first
    bearing = body["results"][1]
    assert bearing["material_code"] == "0200117" and bearing["material_name"] == "Bearing 6204"
    assert bearing["unit"] == "PCS" and bearing["repair"] == "pending"

    ascending = client.get(url, {"order": "size_asc"}).json()["results"]
    assert ascending[0]["difference"] == "-2.000000"
    by_class = client.get(url, {"kind": "unknown_material"}).json()["results"]
    assert {item["material_code"] for item in by_class} == {"X-1", "X-2"}
    assert by_class[0]["material_name"] is None
    by_location = client.get(url, {"location": "RM-A"}).json()["results"]
    assert {item["location"] for item in by_location} == {"RM-A-01", "RM-A-02"}
    by_material = client.get(url, {"material": "X-2"}).json()["results"]
    assert [item["difference"] for item in by_material] == ["30.000000"]
    pending = client.get(url, {"repair": "pending"}).json()["results"]
    assert [item["location"] for item in pending] == ["RM-A-02"]

    bad = client.get(url, {"kind": "nonsense", "order": "sideways"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "API-001" and set(bad.json()["fields"]) == {"kind", "order"}


# --- Deciding ------------------------------------------------------------------------
@pytest.mark.django_db
def test_approving_repairs_once_and_a_second_call_changes_nothing(api_client, user_with_role, runs):
    _older, newer = runs
    pending = newer.discrepancies.get(repair="pending")
    client = signed_in(api_client, user_with_role, "supervisor")
    url = f"{RUNS_URL}{newer.pk}/decide/"

    response = client.post(url, {"ids": [pending.pk], "approve": True}, format="json")
    assert response.status_code == 200
    assert response.json() == {"decided": 1, "skipped": 0}
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 1
    movements = StockMovement.objects.count()

    again = client.post(url, {"ids": [pending.pk], "approve": False}, format="json")
    assert again.json() == {"decided": 0, "skipped": 1}
    assert StockMovement.objects.count() == movements
    pending.refresh_from_db()
    assert pending.repair == "applied"
    detail = client.get(f"{RUNS_URL}{newer.pk}/").json()
    assert detail["counts"]["by_repair"]["applied"] == 2


@pytest.mark.django_db
def test_rejecting_leaves_the_stock(api_client, user_with_role, runs):
    _older, newer = runs
    pending = newer.discrepancies.get(repair="pending")
    response = signed_in(api_client, user_with_role, "supervisor").post(
        f"{RUNS_URL}{newer.pk}/decide/", {"ids": [pending.pk], "approve": False}, format="json"
    )
    assert response.json() == {"decided": 1, "skipped": 0}
    pending.refresh_from_db()
    assert pending.repair == "rejected"
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 7


@pytest.mark.django_db
def test_deciding_needs_the_change_permission(api_client, user_with_role, runs):
    _older, newer = runs
    pending = newer.discrepancies.get(repair="pending")
    response = signed_in(api_client, user_with_role, "planner").post(
        f"{RUNS_URL}{newer.pk}/decide/", {"ids": [pending.pk], "approve": True}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "API-003"
    pending.refresh_from_db()
    assert pending.repair == "pending"
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 7


@pytest.mark.django_db
def test_a_bad_decision_body_is_400_with_its_fields(api_client, user_with_role, runs):
    _older, newer = runs
    client = signed_in(api_client, user_with_role, "supervisor")
    response = client.post(f"{RUNS_URL}{newer.pk}/decide/", {"ids": []}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "API-001"
    assert set(response.json()["fields"]) == {"ids", "approve"}
    assert newer.discrepancies.filter(repair="pending").count() == 1


@pytest.mark.django_db
def test_the_run_list_has_a_bounded_number_of_queries(
    api_client, user_with_role, runs, django_assert_max_num_queries
):
    client = signed_in(api_client, user_with_role, "planner")
    with django_assert_max_num_queries(6):
        assert client.get(RUNS_URL).status_code == 200
