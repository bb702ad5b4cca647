from django.urls import path  # noqa: F401  (the planner pages are added here)

app_name = "inventory"

urlpatterns: list = []
