"""The root URL: the home dashboard (``mes/urls.py`` includes this module by name, so the
kernel imports no app)."""

from django.urls import path

from monitoring import views

urlpatterns = [
    path("", views.home, name="home"),
]
