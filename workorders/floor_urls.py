"""The shop floor: pages under /floor/ and their API under /api/v1/floor/.

Mounted once at the site root in ``mes/urls.py``, so that the floor app and
its batch endpoint live in one module.
"""

from django.urls import path

from workorders import floor_api, floor_views

app_name = "floor"

urlpatterns = [
    path("floor/", floor_views.floor_app, name="app"),
    path("floor/sign-in/", floor_views.sign_in, name="sign_in"),
    path("floor/sign-out/", floor_views.sign_out, name="sign_out"),
    path("floor/sw.js", floor_views.service_worker, name="service_worker"),
    path("floor/labels/", floor_views.label_sheet, name="labels"),
    path("floor/faults/<int:pk>/photo/", floor_views.fault_photo, name="fault_photo"),
    path("api/v1/floor/state/", floor_api.FloorStateApi.as_view(), name="api_state"),
    path("api/v1/floor/lookup/", floor_api.FloorLookupApi.as_view(), name="api_lookup"),
    path("api/v1/floor/actions/", floor_api.FloorActionsApi.as_view(), name="api_actions"),
]
