from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from monitoring.health import readiness_checks
from monitoring.selectors import process_heartbeats


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches nothing else on purpose."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when every dependency answers, else 503 naming the failures."""
    results = readiness_checks()
    failing = [result.name for result in results if not result.ok]
    body = {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": {result.name: result.as_dict() for result in results},
    }
    return JsonResponse(body, status=503 if failing else 200)


@login_required
@require_GET
def status_panel(request):
    """The system-status card of the home dashboard (loaded and refreshed by htmx)."""
    return render(
        request,
        "monitoring/_status_panel.html",
        {"checks": readiness_checks(), "heartbeats": process_heartbeats()},
    )
