from django.urls import path

from monitoring import api

urlpatterns = [
    path("incidents/", api.IncidentListApi.as_view(), name="incidents"),
    path("incidents/<int:pk>/", api.IncidentDetailApi.as_view(), name="incident"),
    path(
        "incidents/<int:pk>/acknowledge/",
        api.IncidentActionApi.as_view(action="acknowledge"),
        name="incident-acknowledge",
    ),
    path(
        "incidents/<int:pk>/resolve/",
        api.IncidentActionApi.as_view(action="resolve"),
        name="incident-resolve",
    ),
    path("stalls/", api.StallListApi.as_view(), name="stalls"),
    path("kpis/", api.KpiApi.as_view(), name="kpis"),
]
