"""The shop floor: pages under /floor/ and their API under /api/v1/floor/.

Mounted once at the site root in ``mes/urls.py``, so that the floor app and
its batch endpoint live in one module.
"""

from django.urls import path

from floor import api, device_log_views, views

app_name = "floor"

urlpatterns = [
    path("floor/", views.floor_app, name="app"),
    path("floor/sign-in/", views.sign_in, name="sign_in"),
    path("floor/sign-out/", views.sign_out, name="sign_out"),
    path("floor/sw.js", views.service_worker, name="service_worker"),
    path("floor/labels/", views.label_sheet, name="labels"),
    path("floor/faults/<int:pk>/photo/", views.fault_photo, name="fault_photo"),
    path("floor/device-log/", device_log_views.device_log_upload, name="device_log"),
    path("api/v1/floor/state/", api.FloorStateApi.as_view(), name="api_state"),
    path("api/v1/floor/lookup/", api.FloorLookupApi.as_view(), name="api_lookup"),
    path("api/v1/floor/stock/", api.FloorStockApi.as_view(), name="api_stock"),
    path("api/v1/floor/actions/", api.FloorActionsApi.as_view(), name="api_actions"),
]
