from django.urls import path

from integrations import api

urlpatterns = [
    path("nodes/status/", api.NodeSyncStatusApi.as_view(), name="node-status"),
    path(
        "nodes/<slug:node>/inbound/<slug:kind>/",
        api.InboundPushApi.as_view(),
        name="node-inbound",
    ),
]
