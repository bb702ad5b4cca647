from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("", views.step_template_list, name="list"),
    path("records/", views.step_record_list, name="records"),
    path("<int:pk>/", views.step_template_editor, name="editor"),
    path("<int:pk>/fields/add/", views.step_field_add, name="field_add"),
    path("<int:pk>/fields/remove/", views.step_field_remove, name="field_remove"),
    path("<int:pk>/fields/order/", views.step_field_order, name="field_order"),
    path("<int:pk>/publish/", views.step_template_publish, name="publish"),
    path("<int:pk>/attach/", views.step_template_attach, name="attach"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/detach/",
        views.step_template_detach,
        name="detach",
    ),
]
