"""The releases page: releases, snapshots, feature flags and their changes.

Flag changes post to small views that call one service each and come back
to the page (a message says what happened or why not).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.errors import ApplicationError
from mes.permissions import may, page_permission_required
from releases import snapshots
from releases.selectors import flag_change_list, flag_list, release_list
from releases.services.flags import (
    flag_create,
    flag_kill,
    flag_ramp_schedule,
    flag_revive,
    flag_update,
)

VIEW = "releases.view_release"
CHANGE_FLAG = "releases.change_flag"
KILL_FLAG = "releases.kill_flag"


@page_permission_required(VIEW)
def release_page(request: HttpRequest) -> HttpResponse:
    context = {
        "releases": release_list(),
        "snapshots": snapshots.snapshot_list()[:10],
        "flags": flag_list(),
        "changes": flag_change_list(),
        "may_change": may(request.user, CHANGE_FLAG),
        "may_kill": may(request.user, KILL_FLAG),
    }
    return render(request, "releases/page.html", context)


def _done(request: HttpRequest, call, success: str) -> HttpResponse:
    try:
        call()
    except ApplicationError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
    except (ValueError, ValidationError):
        # A blank or taken flag name fails the model's validation: nothing was saved.
        messages.error(request, _("Check the values and send again."))
    else:
        messages.success(request, success)
    return redirect("releases:page")


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "").strip()[:300]


@require_POST
@page_permission_required("releases.add_flag")
def flag_create_view(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:100]
    return _done(
        request,
        lambda: flag_create(
            actor=request.user,
            name=name,
            percent=request.POST.get("percent") or 0,
            note=request.POST.get("note", "")[:500],
            reason=_reason(request),
        ),
        _("Flag %(name)s created.") % {"name": name},
    )


@require_POST
@page_permission_required(CHANGE_FLAG)
def flag_percent_view(request: HttpRequest, name: str) -> HttpResponse:
    return _done(
        request,
        lambda: flag_update(
            actor=request.user,
            name=name,
            reason=_reason(request),
            percent=request.POST.get("percent", ""),
        ),
        _("Share of %(name)s changed.") % {"name": name},
    )


@require_POST
@page_permission_required(CHANGE_FLAG)
def flag_targets_view(request: HttpRequest, name: str) -> HttpResponse:
    def codes(field: str) -> list[str]:
        return sorted(
            {code.strip() for code in request.POST.get(field, "").split(",") if code.strip()}
        )

    return _done(
        request,
        lambda: flag_update(
            actor=request.user,
            name=name,
            reason=_reason(request),
            groups=codes("groups"),
            teams=codes("teams"),
            work_centers=codes("work_centers"),
        ),
        _("Targets of %(name)s changed.") % {"name": name},
    )


@require_POST
@page_permission_required(CHANGE_FLAG)
def flag_ramp_view(request: HttpRequest, name: str) -> HttpResponse:
    def schedule():
        now = timezone.now()
        hours = float(request.POST.get("hours") or 24)
        if not 0 < hours <= 24 * 30:
            raise ValueError(hours)
        steps = [
            (request.POST.get("start", ""), now),
            (request.POST.get("end", ""), now + timedelta(hours=hours)),
        ]
        flag_ramp_schedule(actor=request.user, name=name, steps=steps, reason=_reason(request))

    return _done(request, schedule, _("Ramp of %(name)s scheduled.") % {"name": name})


@require_POST
@page_permission_required(KILL_FLAG)
def flag_kill_view(request: HttpRequest, name: str) -> HttpResponse:
    return _done(
        request,
        lambda: flag_kill(actor=request.user, name=name, reason=_reason(request)),
        _("%(name)s is off for everyone.") % {"name": name},
    )


@require_POST
@page_permission_required(KILL_FLAG)
def flag_revive_view(request: HttpRequest, name: str) -> HttpResponse:
    return _done(
        request,
        lambda: flag_revive(actor=request.user, name=name, reason=_reason(request)),
        _("%(name)s follows its share and targets again.") % {"name": name},
    )
