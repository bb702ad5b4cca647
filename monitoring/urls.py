from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("status-panel/", views.status_panel, name="status_panel"),
]
