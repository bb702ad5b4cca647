"""The planner's simulation pages: scenarios with their form, one scenario's results."""

from __future__ import annotations

from datetime import time

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from mes.errors import ApplicationError
from mes.permissions import page_permission_required
from simulation import selectors
from simulation.forms import ScenarioForm
from simulation.models import Scenario, ScenarioState
from simulation.presenters import results_context
from simulation.services import scenario_create

VIEW = "simulation.view_scenario"
RUN = "simulation.run_scenario"


def _initial() -> dict:
    first, last = selectors.default_period()
    return {
        "name": "",
        "learn_start": first,
        "learn_end": last,
        "shift_starts": time(16),
        "shift_ends": time(0),
    }


@page_permission_required(VIEW)
def scenario_list(request: HttpRequest) -> HttpResponse:
    form = ScenarioForm(initial=_initial(), work_centers=selectors.work_center_choices())
    return _list_page(request, form)


def _list_page(request, form, status: int = 200) -> HttpResponse:
    context = {"form": form, "scenarios": selectors.scenario_list()}
    return render(request, "simulation/scenarios.html", context, status=status)


@require_POST
@page_permission_required(RUN)
def scenario_new(request: HttpRequest) -> HttpResponse:
    form = ScenarioForm(request.POST, work_centers=selectors.work_center_choices())
    if not form.is_valid():
        return _list_page(request, form, status=400)
    try:
        scenario = scenario_create(actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        if exc.error.http_status == 403:
            raise PermissionDenied from exc
        for field, problems in (exc.fields or {}).items():
            if field in form.fields:
                form.add_error(field, problems)
        messages.error(request, f"{exc.code} {exc.message}")
        return _list_page(request, form, status=400)
    return redirect("simulation:scenario", pk=scenario.pk)


@page_permission_required(VIEW)
def scenario_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = Scenario.objects.filter(pk=pk).select_related("created_by").first()
    if scenario is None:
        raise Http404
    running = scenario.state in (ScenarioState.QUEUED, ScenarioState.RUNNING)
    if request.GET.get("part") == "progress":
        response = render(request, "simulation/_progress.html", {"scenario": scenario})
        if not running:
            response["HX-Refresh"] = "true"  # finished: show the results
        patch_vary_headers(response, ("HX-Request",))
        return response
    context = {
        "scenario": scenario,
        "running": running,
        "error": selectors.error_message(scenario.error) if scenario.error else "",
    }
    if scenario.state == ScenarioState.DONE:
        context.update(results_context(scenario))
    return render(request, "simulation/scenario.html", context)
