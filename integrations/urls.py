from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("import/", views.file_import, name="file_import"),
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
