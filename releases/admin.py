"""Flags, their audit rows and the releases in the admin: to read.

Flags change on the releases page (or through ``releases.services.flags``), so
that every change, bulk ones included, leaves an audit row; waffle's own admin
(whose bulk actions write none) is switched off (``WAFFLE_ENABLE_ADMIN_PAGES``).
The one action here, the kill switch, goes through the service.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mes.admin import NoAddMixin, NoChangeMixin, NoDeleteMixin
from mes.errors import ApplicationError
from mes.permissions import may
from releases.models import Flag, FlagChange, Release
from releases.services.flags import flag_kill


@admin.action(description=_("Switch the selected flags off (kill switch)"), permissions=["kill"])
def kill_selected(modeladmin, request, queryset) -> None:
    killed = 0
    for name in queryset.values_list("name", flat=True):
        try:
            flag_kill(actor=request.user, name=name, reason=str(_("kill switch in the admin")))
            killed += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
    modeladmin.message_user(
        request,
        ngettext("%(n)d flag switched off.", "%(n)d flags switched off.", killed) % {"n": killed},
    )


@admin.register(Flag)
class FlagAdmin(NoAddMixin, NoChangeMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "percent", "everyone", "killed", "ramp_started_at", "modified")
    fields = (
        "name",
        "note",
        "everyone",
        "percent",
        "groups",
        "teams",
        "work_centers",
        "killed",
        "halted_reason",
        "halt_ratio",
        "ramp_started_at",
        "created",
        "modified",
    )
    search_fields = ("name", "note")
    actions = [kill_selected]

    def has_kill_permission(self, request) -> bool:
        return may(request.user, "releases.kill_flag")


@admin.register(FlagChange)
class FlagChangeAdmin(NoAddMixin, NoChangeMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ("created_at", "flag_name", "setting", "before", "after", "actor", "why")
    fields = ("created_at", "flag_name", "setting", "before", "after", "actor", "why")
    readonly_fields = fields
    search_fields = ("flag_name", "reason")

    @admin.display(description=_("setting"))
    def setting(self, change: FlagChange) -> str:
        return change.field_label

    @admin.display(description=_("old value"))
    def before(self, change: FlagChange) -> str:
        return change.old_text

    @admin.display(description=_("new value"))
    def after(self, change: FlagChange) -> str:
        return change.new_text

    @admin.display(description=_("reason"))
    def why(self, change: FlagChange) -> str:
        return change.reason_text


@admin.register(Release)
class ReleaseAdmin(NoAddMixin, NoChangeMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        "started_at",
        "kind",
        "state",
        "version",
        "previous_version",
        "snapshot_id",
        "actor",
    )
    list_filter = ("kind", "state")
    # The note is the command's own log line; the page and the commands show the steps.
    exclude = ("note",)
