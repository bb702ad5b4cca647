from django.urls import path

from integrations import api

urlpatterns = [
    path("nodes/status/", api.NodeSyncStatusApi.as_view(), name="node-status"),
    path(
        "nodes/<slug:node>/inbound/<slug:kind>/",
        api.InboundPushApi.as_view(),
        name="node-inbound",
    ),
    path(
        "reconciliation/runs/",
        api.ReconciliationRunListApi.as_view(),
        name="reconciliation-runs",
    ),
    path(
        "reconciliation/runs/<int:pk>/",
        api.ReconciliationRunDetailApi.as_view(),
        name="reconciliation-run",
    ),
    path(
        "reconciliation/runs/<int:pk>/discrepancies/",
        api.ReconciliationDiscrepancyListApi.as_view(),
        name="reconciliation-run-discrepancies",
    ),
    path(
        "reconciliation/runs/<int:pk>/decide/",
        api.ReconciliationDecideApi.as_view(),
        name="reconciliation-run-decide",
    ),
]
