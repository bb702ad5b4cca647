from django.urls import path

from planning import views

app_name = "planning"

urlpatterns = [
    path("", views.board, name="board"),
    path("board.json", views.board_data, name="board_data"),
    path("move/", views.move, name="move"),
    path("queue/", views.queue, name="queue"),
    path("queue/resequence/", views.resequence, name="resequence"),
    path("propose/", views.propose, name="propose"),
    path("apply/", views.apply, name="apply"),
    path("orders/<int:pk>/traveler/", views.traveler, name="traveler"),
    path("orders/<int:pk>/dispatch/", views.dispatch, name="dispatch"),
    path("assign/", views.assign, name="assign"),
]
