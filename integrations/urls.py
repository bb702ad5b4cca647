from django.urls import path

from integrations import views
from integrations.masterdata import views as masterdata_views

app_name = "integrations"

urlpatterns = [
    path("import/", views.file_import, name="file_import"),
    path("masterdata/", masterdata_views.masterdata_page, name="masterdata"),
    path(
        "masterdata/<slug:kind>/download/",
        masterdata_views.masterdata_download,
        name="masterdata_download",
    ),
    path(
        "masterdata/uploads/<int:pk>/",
        masterdata_views.masterdata_preview_page,
        name="masterdata_preview",
    ),
    path(
        "masterdata/uploads/<int:pk>/apply/",
        masterdata_views.masterdata_apply_view,
        name="masterdata_apply",
    ),
    path("import/<int:pk>/", views.file_detail, name="file"),
    path("reconciliation/", views.reconciliation_history, name="reconciliation"),
    path("reconciliation/start/", views.reconciliation_start, name="reconciliation_start"),
    path("reconciliation/<int:pk>/", views.reconciliation_run, name="reconciliation_run"),
    path(
        "reconciliation/<int:pk>/status/",
        views.reconciliation_run_status,
        name="reconciliation_run_status",
    ),
    path(
        "reconciliation/<int:pk>/decide/",
        views.reconciliation_decide,
        name="reconciliation_decide",
    ),
]
