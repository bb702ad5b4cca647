"""Reconciliation pages and API read the same number of queries with N rows as with
5N (tests/query_counts.py): the history of runs and one run's differences."""

import pytest

from integrations.models import Discrepancy
from tests.integrations.test_reconciliation_views import finished_run, plant, row  # noqa: F401
from tests.query_counts import HTMX, assert_constant_queries, page_queries


@pytest.fixture
def supervisor(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    return client


def run_with(cutoff, differences):
    """A run with ``differences`` unknown materials and the bearings off in two bins."""
    snapshot = [row(f"Z{index:03d}", "WH1-A-01", index + 1) for index in range(differences)]
    snapshot += [row("0200117", "RM-A-01", 45), row("100234", "FG-A-01", 100, "L1")]
    run = finished_run(cutoff, {"erp": snapshot})
    Discrepancy.objects.filter(run=run, kind="quantity_mismatch").update(repair="pending")
    return run


@pytest.mark.django_db
def test_one_run_reads_a_constant_number_of_queries(supervisor, plant):  # noqa: F811
    few, many = run_with(plant, 4), run_with(plant, 20)
    for url in (
        "/integrations/reconciliation/{}/",
        "/integrations/reconciliation/{}/?kind=unknown_material",
        "/api/v1/reconciliation/runs/{}/",
        "/api/v1/reconciliation/runs/{}/discrepancies/",
    ):
        counts = [len(page_queries(supervisor, url.format(run.pk))) for run in (few, many)]
        assert counts[0] == counts[1], (url, counts)
    counts = [
        len(page_queries(supervisor, f"/integrations/reconciliation/{run.pk}/", **HTMX))
        for run in (few, many)
    ]
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_the_history_reads_a_constant_number_of_queries(supervisor, plant):  # noqa: F811
    run_with(plant, 2)
    urls = ["/integrations/reconciliation/", "/api/v1/reconciliation/runs/"]
    assert_constant_queries(supervisor, urls, lambda: [run_with(plant, 2) for _ in range(4)])
