from django.urls import path

from drills import views

app_name = "drills"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("<int:pk>/", views.run_detail, name="run"),
]
