from django.urls import path
from rest_framework.routers import SimpleRouter

from workorders import api, api_edits
from workorders.transitions import MANUAL_OPERATION_TRANSITIONS, MANUAL_WORK_ORDER_TRANSITIONS

router = SimpleRouter()
router.register("work-centers", api.WorkCenterViewSet, basename="work-center")

urlpatterns = [
    *router.urls,
    path("work-orders/", api.WorkOrderListCreateApi.as_view(), name="work-orders"),
    path("work-orders/<int:pk>/", api.WorkOrderDetailApi.as_view(), name="work-order"),
    path(
        "work-orders/<int:pk>/edit/", api_edits.WorkOrderEditApi.as_view(), name="work-order-edit"
    ),
    path(
        "work-orders/<int:pk>/split/",
        api_edits.WorkOrderSplitApi.as_view(),
        name="work-order-split",
    ),
    *[
        path(
            f"work-orders/<int:pk>/{name}/",
            api.WorkOrderTransitionApi.as_view(transition=name),
            name=f"work-order-{name}",
        )
        for name in MANUAL_WORK_ORDER_TRANSITIONS
    ],
    path("operations/queue/", api.OperationQueueApi.as_view(), name="operation-queue"),
    *[
        path(
            f"operations/<int:pk>/{name}/",
            api.OperationTransitionApi.as_view(transition=name),
            name=f"operation-{name}",
        )
        for name in MANUAL_OPERATION_TRANSITIONS
    ],
    path("operations/<int:pk>/assign/", api.OperationAssignApi.as_view(), name="operation-assign"),
    path("operations/<int:pk>/issue/", api.OperationIssueApi.as_view(), name="operation-issue"),
]
