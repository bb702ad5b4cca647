from django.urls import path

from releases import views

app_name = "releases"

urlpatterns = [
    path("", views.release_page, name="page"),
    path("flags/new/", views.flag_create_view, name="flag_create"),
    path("flags/<str:name>/percent/", views.flag_percent_view, name="flag_percent"),
    path("flags/<str:name>/targets/", views.flag_targets_view, name="flag_targets"),
    path("flags/<str:name>/ramp/", views.flag_ramp_view, name="flag_ramp"),
    path("flags/<str:name>/kill/", views.flag_kill_view, name="flag_kill"),
    path("flags/<str:name>/revive/", views.flag_revive_view, name="flag_revive"),
]
