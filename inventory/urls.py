from django.urls import path

from inventory import count_views, stock_views, views

app_name = "inventory"

urlpatterns = [
    path("", views.stock_overview, name="stock"),
    # `path`, not `str`: a material code is kept exactly as the ERP has it, slashes included.
    path("materials/<path:code>/", views.material_detail, name="material"),
    path("below-safety-stock/", views.below_safety_stock, name="below_safety_stock"),
    path("pending-putaway/", views.pending_putaway, name="pending_putaway"),
    path("actions/", stock_views.stock_action_index, name="stock_actions"),
    path("actions/<slug:movement_type>/", stock_views.stock_action, name="stock_action"),
    path("movements/", stock_views.movement_list, name="movements"),
    path("movements/<int:pk>/", stock_views.movement_detail, name="movement"),
    path("movements/<int:pk>/reverse/", stock_views.movement_reverse, name="movement_reverse"),
    path("counts/", count_views.count_list, name="counts"),
    path("counts/<int:pk>/", count_views.count_detail, name="count"),
    path("counts/<int:pk>/record/", count_views.count_record, name="count_record"),
    path("counts/<int:pk>/decide/", count_views.count_decide, name="count_decide"),
    path("counts/<int:pk>/report/", count_views.count_report_download, name="count_report"),
]
