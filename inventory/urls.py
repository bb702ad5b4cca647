from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.stock_overview, name="stock"),
    # `path`, not `str`: a material code is kept exactly as the ERP has it, slashes included.
    path("materials/<path:code>/", views.material_detail, name="material"),
    path("below-safety-stock/", views.below_safety_stock, name="below_safety_stock"),
    path("pending-putaway/", views.pending_putaway, name="pending_putaway"),
]
