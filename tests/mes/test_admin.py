"""Every admin page of the project opens for a superuser; service-written records
cannot be added, changed or deleted there."""

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

PROJECT_APPS = {"inventory", "workorders", "integrations", "monitoring"}
SERVICE_WRITTEN = [
    "inventory.stockmovement",
    "inventory.stockbalance",
    "workorders.workorderevent",
    "integrations.reconciliationrun",
]


@pytest.fixture
def superuser_client(client, django_user_model):
    call_command("demo_data", stdout=StringIO())
    user = django_user_model.objects.get(username="admin")
    client.force_login(user)
    return client


def _project_models():
    return [model for model in admin.site._registry if model._meta.app_label in PROJECT_APPS]


@pytest.mark.django_db
def test_every_changelist_and_one_change_page_open(superuser_client):
    for model in _project_models():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert superuser_client.get(url).status_code == 200, url
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert superuser_client.get(change).status_code == 200, change


@pytest.mark.django_db
def test_service_written_records_are_read_only(superuser_client):
    for label in SERVICE_WRITTEN:
        app_label, model_name = label.split(".")
        add = reverse(f"admin:{app_label}_{model_name}_add")
        assert superuser_client.get(add).status_code == 403, add


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_large_table_is_paged_on_the_estimate_and_a_filtered_list_is_counted(
    superuser_client, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.models import StockMovement
    from mes.admin import EstimatedCountPaginator

    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_ABOVE", 5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_stockmovement")
    assert StockMovement.objects.count() > 5  # the demo data's movements
    url = reverse("admin:inventory_stockmovement_changelist")
    with CaptureQueriesContext(connection) as listed:
        assert superuser_client.get(url).status_code == 200
    counts = [q["sql"] for q in listed.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts == [] and any("reltuples" in q["sql"] for q in listed.captured_queries)
    with CaptureQueriesContext(connection) as filtered:
        response = superuser_client.get(url + "?movement_type__exact=receipt")
    receipts = StockMovement.objects.filter(movement_type="receipt").count()
    assert response.context["cl"].result_count == receipts
    assert any("COUNT(" in q["sql"].upper() for q in filtered.captured_queries)
