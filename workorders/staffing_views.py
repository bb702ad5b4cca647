"""Pages of skills, rosters and shift grants: the matrix (with its XLSX import and
export), certificates expiring soon, the week's roster and the grants a team leader
gives for a shift. Each view parses, calls one service or selector, and renders;
an ``ApplicationError`` comes back as a message with its code.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mes.errors import ApplicationError
from mes.permissions import may, page_permission_required
from workorders import services, staffing_forms, staffing_selectors
from workorders.forms import validation_error
from workorders.models import GrantRule, Shift, StaffingEvent, Team, TemporaryGrant, WorkCenter
from workorders.staffing_selectors import GRANT_SENTENCES

VIEW_MATRIX = "workorders.view_qualification"
CERTIFY = "workorders.change_qualification"
VIEW_ROSTER = "workorders.view_rosterentry"
EDIT_ROSTER = "workorders.add_rosterentry"
LEAD_SHIFT = "workorders.lead_shift"
GRANT_ANYONE = "workorders.add_temporarygrant"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVENTS_SHOWN = 20


def _refused(request: HttpRequest, error: ApplicationError) -> None:
    details = "; ".join(
        f"{name}: {' '.join(problems)}" for name, problems in (error.fields or {}).items()
    )
    text = f"{error.code} {error.message}" + (f" ({details})" if details else "")
    messages.error(request, text)


def _form_refusal(form) -> ApplicationError:
    return validation_error(form)


# --- The matrix --------------------------------------------------------------------
@require_GET
@page_permission_required(VIEW_MATRIX)
def skill_matrix(request: HttpRequest) -> HttpResponse:
    team, work_center = request.GET.get("team", ""), request.GET.get("work_center", "")
    skills, rows = staffing_selectors.skill_matrix(team=team, work_center=work_center)
    context = {
        "skills": skills,
        "rows": rows,
        "filters": {"team": team, "work_center": work_center},
        "teams": Team.objects.all(),
        "work_centers": WorkCenter.objects.filter(is_active=True),
        "today": timezone.localdate(),
        "can_certify": may(request.user, CERTIFY),
        "form": staffing_forms.QualificationForm(),
        "import_form": staffing_forms.FileImportForm(),
    }
    return render(request, "workorders/staffing/matrix.html", context)


@require_POST
@page_permission_required(CERTIFY)
def qualification_set(request: HttpRequest) -> HttpResponse:
    form = staffing_forms.QualificationForm(request.POST)
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        services.qualification_set(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Qualification recorded."))
    except ApplicationError as error:
        _refused(request, error)
    return redirect("workorders:skill_matrix")


@require_GET
@page_permission_required(VIEW_MATRIX)
def skill_matrix_export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(services.skill_matrix_xlsx(), content_type=XLSX)
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="skills-matrix-{stamp}.xlsx"'
    return response


@require_POST
@page_permission_required(CERTIFY)
def skill_matrix_import(request: HttpRequest) -> HttpResponse:
    form = staffing_forms.FileImportForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        count = services.skill_matrix_import(
            actor=request.user,
            content=form.cleaned_data["file"].read(),
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("%(count)d qualifications imported.") % {"count": count})
    except ApplicationError as error:
        _refused(request, error)
    return redirect("workorders:skill_matrix")


@require_GET
@page_permission_required(VIEW_MATRIX)
def qualifications_expiring(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    context = {
        "qualifications": staffing_selectors.qualifications_expiring(on=today),
        "today": today,
        "days": staffing_selectors.EXPIRING_DAYS,
    }
    return render(request, "workorders/staffing/expiring.html", context)


# --- The roster --------------------------------------------------------------------
def _monday(value: str) -> date:
    day = parse_date(value or "") or timezone.localdate()
    return day - timedelta(days=day.weekday())


@require_GET
@page_permission_required(VIEW_ROSTER)
def roster(request: HttpRequest) -> HttpResponse:
    monday = _monday(request.GET.get("week", ""))
    entries = staffing_selectors.roster_week(monday=monday)
    days = [monday + timedelta(days=offset) for offset in range(7)]
    context = {
        "monday": monday,
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
        "days": [(day, [entry for entry in entries if entry.day == day]) for day in days],
        "can_edit": may(request.user, EDIT_ROSTER),
        "form": staffing_forms.RosterEntryForm(initial={"day": timezone.localdate()}),
        "import_form": staffing_forms.FileImportForm(),
        "rules": GrantRule.objects.filter(is_active=True)
        .select_related("post", "shift")
        .prefetch_related("permissions"),
        "events": StaffingEvent.objects.select_related("actor", "person")[:EVENTS_SHOWN],
        "shifts": Shift.objects.all(),
    }
    return render(request, "workorders/staffing/roster.html", context)


@require_POST
@page_permission_required(EDIT_ROSTER)
def roster_entry_add(request: HttpRequest) -> HttpResponse:
    form = staffing_forms.RosterEntryForm(request.POST)
    day = None
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        day = form.cleaned_data["day"]
        services.roster_entry_set(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Roster saved."))
    except ApplicationError as error:
        _refused(request, error)
    return redirect_to_roster(day)


@require_POST
@page_permission_required(EDIT_ROSTER)
def roster_entry_remove(request: HttpRequest, pk: int) -> HttpResponse:
    form = staffing_forms.ReasonForm(request.POST)
    day = None
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        entry = staffing_selectors.roster_entry(pk)
        day = entry.day if entry else None
        services.roster_entry_remove(
            actor=request.user, entry_id=pk, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("Taken off the roster."))
    except ApplicationError as error:
        _refused(request, error)
    return redirect_to_roster(day)


@require_POST
@page_permission_required(EDIT_ROSTER)
def roster_import(request: HttpRequest) -> HttpResponse:
    form = staffing_forms.FileImportForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        count = services.roster_import(
            actor=request.user,
            content=form.cleaned_data["file"].read(),
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("%(count)d roster rows imported.") % {"count": count})
    except ApplicationError as error:
        _refused(request, error)
    return redirect_to_roster(None)


def redirect_to_roster(day: date | None) -> HttpResponse:
    response = redirect("workorders:roster")
    if day is not None:
        monday = day - timedelta(days=day.weekday())
        response["Location"] += f"?week={monday.isoformat()}"
    return response


# --- Grants for a shift ------------------------------------------------------------
def _may_give(user) -> bool:
    return may(user, LEAD_SHIFT) or may(user, GRANT_ANYONE)


def _people_of(user):
    """Whom ``user`` gives grants to: everyone for a supervisor, else his teams' members."""
    people = get_user_model().objects.filter(is_active=True).order_by("username")
    if may(user, GRANT_ANYONE):
        return people
    return people.filter(teams__leader=user).distinct()


@login_required
@require_GET
def shift_grants(request: HttpRequest) -> HttpResponse:
    if not _may_give(request.user):
        raise PermissionDenied
    people = _people_of(request.user)
    now = timezone.now()
    grants = (
        TemporaryGrant.objects.filter(user__in=people, revoked_at=None, ends_at__gt=now)
        .select_related("user", "granted_by", "rule")
        .prefetch_related("permissions__content_type")
        .order_by("starts_at")
    )
    context = {
        "grants": [(grant, _grant_sentences(grant)) for grant in grants],
        "form": staffing_forms.ShiftGrantForm(people=people, initial={"day": timezone.localdate()}),
        "now": now,
    }
    return render(request, "workorders/staffing/grants.html", context)


def _grant_sentences(grant: TemporaryGrant) -> list[str]:
    return [
        str(GRANT_SENTENCES.get(f"{p.content_type.app_label}.{p.codename}", p.name))
        for p in grant.permissions.all()
    ]


@login_required
@require_POST
def shift_grant_give(request: HttpRequest) -> HttpResponse:
    if not _may_give(request.user):
        raise PermissionDenied
    form = staffing_forms.ShiftGrantForm(request.POST, people=_people_of(request.user))
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        services.shift_grant_give(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Grant given."))
    except ApplicationError as error:
        _refused(request, error)
    return redirect("workorders:shift_grants")


@login_required
@require_POST
def shift_grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not _may_give(request.user):
        raise PermissionDenied
    get_object_or_404(TemporaryGrant, pk=pk)
    form = staffing_forms.ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise _form_refusal(form)
        services.shift_grant_revoke(
            actor=request.user, grant_id=pk, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("Grant revoked."))
    except ApplicationError as error:
        _refused(request, error)
    return redirect("workorders:shift_grants")
