from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from mes import api, token_views

admin.site.site_header = _("MES administration")
admin.site.site_title = _("MES admin")
admin.site.index_title = _("The day's work, master data and records")

api_v1 = [
    path("me/", api.MeApi.as_view(), name="me"),
    path("error-codes/", api.ErrorCodeListApi.as_view(), name="error-codes"),
    path("", include("inventory.urls_api")),
    path("", include("workorders.urls_api")),
    path("", include("integrations.urls_api")),
    path("", include("monitoring.urls_api")),
]

urlpatterns = [
    path("", include("monitoring.urls_home")),  # the home dashboard
    path("", include("monitoring.urls_probes")),  # /healthz, /readyz, /metrics
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/api-tokens/", token_views.api_tokens, name="api_tokens"),
    path("account/api-tokens/new/", token_views.api_token_create, name="api_token_create"),
    path(
        "account/api-tokens/<int:pk>/revoke/",
        token_views.api_token_revoke,
        name="api_token_revoke",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("inventory/", include("inventory.urls")),
    path("work-orders/", include("workorders.urls")),
    path("planning/", include("planning.urls")),
    path("integrations/", include("integrations.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("simulation/", include("simulation.urls")),
    path("drills/", include("drills.urls")),
    path("releases/", include("releases.urls")),
    path("quality/", include("quality.urls")),
    path("", include("floor.urls")),  # /floor/ and /api/v1/floor/
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves the page's init script as a file (?script), so the
    # docs page needs no inline script under the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
]

handler400 = "mes.error_views.bad_request"
handler403 = "mes.error_views.permission_denied"
handler404 = "mes.error_views.not_found"
handler500 = "mes.error_views.server_error"
