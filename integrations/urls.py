from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("import/", views.file_import, name="file_import"),
    path("import/<int:pk>/", views.file_detail, name="file"),
]
