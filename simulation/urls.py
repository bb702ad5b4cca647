from django.urls import path

from simulation import views

app_name = "simulation"

urlpatterns = [
    path("", views.scenario_list, name="scenarios"),
    path("new/", views.scenario_new, name="scenario_new"),
    path("<int:pk>/", views.scenario_detail, name="scenario"),
]
