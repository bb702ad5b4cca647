from django.urls import path

from workorders import views

app_name = "workorders"

urlpatterns = [
    path("", views.work_order_list, name="list"),
    path("state-counts/", views.state_counts, name="state_counts"),
    path("new/", views.work_order_create, name="create"),
    path("<int:pk>/", views.work_order_detail, name="detail"),
    path("<int:pk>/move/", views.work_order_move, name="move"),
    path("operations/<int:pk>/move/", views.operation_move, name="operation_move"),
]
