"""Admin of skills, posts, grant rules and the staffing history (imported by
``workorders.admin``). Qualifications and rosters have their own pages
(``workorders.staffing_views``); a grant rule is saved through its service, so the
grants it gives follow at once."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mes.admin import ReadOnlyAdmin
from mes.admin_site import PermissionLabelsMixin
from workorders import services
from workorders.models import GrantRule, Post, Skill, SkillRequirement, StaffingEvent


class SkillRequirementInline(admin.TabularInline):
    model = SkillRequirement
    fk_name = "skill"
    extra = 0
    fields = ("min_level", "work_center", "routing_operation")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")
    inlines = [SkillRequirementInline]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "work_center", "team")
    search_fields = ("code", "name")


@admin.register(GrantRule)
class GrantRuleAdmin(PermissionLabelsMixin, admin.ModelAdmin):
    list_display = ("name", "post", "shift", "is_active", "created_by")
    list_filter = ("is_active", "shift")
    filter_horizontal = ("permissions",)
    readonly_fields = ("created_by",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        rule = services.grant_rule_save(
            actor=request.user,
            name=data["name"],
            post=data["post"],
            shift=data.get("shift"),
            is_active=data.get("is_active", True),
            permissions=[
                f"{permission.content_type.app_label}.{permission.codename}"
                for permission in data["permissions"]
            ],
            reason=str(_("Saved in the admin")),
            rule_id=obj.pk if change else None,
        )
        obj.pk, obj.created_by = rule.pk, rule.created_by

    def save_related(self, request, form, formsets, change):
        """Nothing to save: the service has set the rule's permissions and its grants."""


@admin.register(StaffingEvent)
class StaffingEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "summary", "actor", "person", "reason")
    list_filter = ("kind",)
    search_fields = ("summary", "reason", "actor__username", "person__username")
    exclude = ("data",)  # the summary tells it in words; the data are for the API
