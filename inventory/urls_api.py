from django.urls import path
from rest_framework.routers import SimpleRouter

from inventory import api

router = SimpleRouter()
router.register("materials", api.MaterialViewSet, basename="material")
router.register("locations", api.LocationViewSet, basename="location")
router.register("batches", api.BatchViewSet, basename="batch")

urlpatterns = [
    *router.urls,
    path("stock/", api.StockBalanceListApi.as_view(), name="stock"),
    path("movements/", api.MovementListCreateApi.as_view(), name="movements"),
    path("movements/batch/", api.MovementBatchApi.as_view(), name="movements-batch"),
    path(
        "movements/<int:movement_id>/reverse/",
        api.MovementReverseApi.as_view(),
        name="movement-reverse",
    ),
    path("reservations/", api.ReservationListCreateApi.as_view(), name="reservations"),
    path(
        "reservations/<int:reservation_id>/release/",
        api.ReservationReleaseApi.as_view(),
        name="reservation-release",
    ),
]
