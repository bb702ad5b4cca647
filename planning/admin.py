"""Calendars and eligible work centers are master data a planner keeps in the admin;
plan changes are history (read only). The plan itself changes on the board."""

from django.contrib import admin

from mes.admin import ReadOnlyAdmin
from planning.models import CalendarException, EligibleWorkCenter, PlanChange, WorkCenterCalendar


@admin.register(WorkCenterCalendar)
class WorkCenterCalendarAdmin(admin.ModelAdmin):
    list_display = ("work_center",)
    filter_horizontal = ("shifts",)
    autocomplete_fields = ("work_center",)


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    list_display = ("kind", "work_center", "starts_at", "ends_at", "reason")
    list_filter = ("kind", "work_center")
    date_hierarchy = "starts_at"


@admin.register(EligibleWorkCenter)
class EligibleWorkCenterAdmin(admin.ModelAdmin):
    list_display = ("routing_operation", "work_center")
    list_select_related = ("routing_operation__routing", "work_center")
    list_filter = ("work_center",)


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = ("version", "kind", "actor", "reason", "occurred_at")
    exclude = ("data",)  # what moved is told by the kind and the reason, not raw JSON
    list_filter = ("kind",)
