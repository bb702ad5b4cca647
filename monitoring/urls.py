from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.health_dashboard, name="health"),
    path("status-panel/", views.status_panel, name="status_panel"),
    path("incidents/", views.incident_board, name="incidents"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path(
        "incidents/<int:pk>/acknowledge/",
        views.incident_acknowledge,
        name="incident_acknowledge",
    ),
    path("incidents/<int:pk>/resolve/", views.incident_resolve, name="incident_resolve"),
    path("stalls/", views.stall_dashboard, name="stalls"),
    path("kpis/", views.kpi_dashboard, name="kpis"),
    path("reports/", views.report_list, name="reports"),
    path("reports/generate/", views.report_generate, name="report_generate"),
    path("reports/<str:week>/", views.report_detail, name="report_detail"),
]
