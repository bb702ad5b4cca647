from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mes.admin import NoAddMixin, NoChangeMixin
from mes.errors import ApplicationError
from mes.permissions import may
from monitoring import admin_alerts  # noqa: F401 (registers the alerting's admin)
from monitoring.labels import category_choices, category_label, incident_facts, incident_title
from monitoring.models import (
    DeadTask,
    EndpointStat,
    Incident,
    Notification,
    NotificationChannel,
    NotificationRule,
    ProcessHeartbeat,
    ResourceSample,
    StabilityReport,
    StallThreshold,
)
from monitoring.services import incident_acknowledge, incident_resolve, notifications_resend


class SampledAdmin(NoAddMixin, NoChangeMixin, admin.ModelAdmin):
    """Written by the system; old rows may be deleted."""


@admin.register(ProcessHeartbeat)
class ProcessHeartbeatAdmin(NoAddMixin, admin.ModelAdmin):
    list_display = ("process", "last_seen_at", "hostname")
    readonly_fields = ("process", "last_seen_at", "hostname")


class CategoryFilter(admin.SimpleListFilter):
    title = _("category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        found = Incident.objects.exclude(category="").values_list("category", flat=True)
        return [(value, category_label(value)) for value in sorted(set(found))]

    def queryset(self, request, queryset):
        return queryset.filter(category=self.value()) if self.value() else queryset


# The title, category and detail are shown in the reader's language (monitoring.labels).
INCIDENT_SHOWN_AS_TEXT = {
    "title": "title_text",
    "category": "category_text",
    "detail": "detail_text",
}


@admin.register(Incident)
class IncidentAdmin(NoAddMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "severity",
        "source",
        "work_center",
        "title_text",
        "category_text",
        "state",
        "occurrences",
        "escalation_level",
        "first_seen_at",
        "last_seen_at",
    )
    list_filter = ("severity", "state", CategoryFilter, "code", "escalation_level")
    search_fields = ("code", "source", "title", "work_center")
    readonly_fields = [
        INCIDENT_SHOWN_AS_TEXT.get(field.name, field.name) for field in Incident._meta.fields
    ]
    actions = ["acknowledge_selected", "resolve_selected"]

    @admin.display(description=_("title"), ordering="title")
    def title_text(self, incident):
        return incident_title(incident)

    @admin.display(description=_("category"), ordering="category")
    def category_text(self, incident):
        return category_label(incident.category) or "-"

    @admin.display(description=_("detail"))
    def detail_text(self, incident):
        rows = [
            (label, format_html("<code>{}</code>", value) if is_code else value)
            for label, value, is_code in incident_facts(incident)
        ]
        return format_html_join(mark_safe("<br>"), "{}: {}", rows) or "-"

    def has_acknowledge_permission(self, request):
        return may(request.user, "monitoring.acknowledge_incident")

    def has_resolve_permission(self, request):
        return may(request.user, "monitoring.resolve_incident")

    def _apply(self, request, queryset, service, done: str) -> None:
        count = 0
        for incident in queryset:
            try:
                service(actor=request.user, incident_id=incident.pk)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{exc.code} {exc.message}", messages.ERROR)
                return
        self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Acknowledge the selected incidents"), permissions=["acknowledge"])
    def acknowledge_selected(self, request, queryset):
        self._apply(request, queryset, incident_acknowledge, _("%(count)s acknowledged."))

    @admin.action(description=_("Resolve the selected incidents"), permissions=["resolve"])
    def resolve_selected(self, request, queryset):
        self._apply(request, queryset, incident_resolve, _("%(count)s resolved."))


class NotificationRuleForm(forms.ModelForm):
    """The category is picked by its name in the reader's language; blank: any."""

    category = forms.ChoiceField(label=_("category"), required=False, choices=())

    class Meta:
        model = NotificationRule
        fields = (
            "name",
            "channel",
            "severities",
            "category",
            "work_center",
            "escalation_level",
            "is_active",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("any")), *category_choices()]
        current = self.initial.get("category") or ""
        if current and current not in dict(choices):
            choices.append((current, current))  # a category typed before the list existed
        self.fields["category"].choices = choices


class NotificationRuleInline(admin.TabularInline):
    form = NotificationRuleForm
    model = NotificationRule
    extra = 1
    fields = ("name", "severities", "category", "work_center", "escalation_level", "is_active")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "url", "key_env", "secret_env", "language", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "url")
    inlines = [NotificationRuleInline]


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    form = NotificationRuleForm
    list_display = (
        "name",
        "channel",
        "severities",
        "category_text",
        "work_center",
        "escalation_level",
        "is_active",
    )
    list_filter = ("channel", "severities", "is_active")
    search_fields = ("name", "category", "work_center")

    @admin.display(description=_("category"), ordering="category")
    def category_text(self, rule):
        return category_label(rule.category) or _("any")


@admin.register(Notification)
class NotificationAdmin(SampledAdmin):
    list_display = (
        "incident",
        "channel",
        "escalation_level",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("state", "channel")
    actions = ["resend_selected"]

    def has_resend_permission(self, request):
        return may(request.user, "monitoring.change_notification")

    @admin.action(
        description=_("Send the selected failed notifications again"), permissions=["resend"]
    )
    def resend_selected(self, request, queryset):
        count = notifications_resend(
            actor=request.user, notification_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            ngettext(
                "%(count)s notification will be sent again.",
                "%(count)s notifications will be sent again.",
                count,
            )
            % {"count": count},
        )


@admin.register(StallThreshold)
class StallThresholdAdmin(admin.ModelAdmin):
    list_display = ("work_center", "stall_minutes", "incident_minutes")
    autocomplete_fields = ["work_center"]


@admin.register(ResourceSample)
class ResourceSampleAdmin(SampledAdmin):
    list_display = ("sampled_at", "hostname", "cpu_percent", "memory_percent", "disk_percent")
    list_filter = ("hostname",)
    date_hierarchy = "sampled_at"


@admin.register(EndpointStat)
class EndpointStatAdmin(SampledAdmin):
    """Every column is in the list, so a row has no page of its own. The route is a URL
    pattern (``/work-orders/<int:pk>/``, the admin's regular expressions), code that
    stays as it is in any language: shown as code, as on the weekly report."""

    list_display = ("hour", "method", "route_code", "count", "errors", "total_ms", "max_ms")
    list_display_links = None
    list_filter = ("method",)
    search_fields = ("route",)
    date_hierarchy = "hour"

    @admin.display(description=_("route"), ordering="route")
    def route_code(self, stat: EndpointStat):
        return format_html("<code>{}</code>", stat.route)


@admin.register(StabilityReport)
class StabilityReportAdmin(SampledAdmin):
    list_display = ("week_start", "generated_at", "emailed_at")
    exclude = ("html",)


@admin.register(DeadTask)
class DeadTaskAdmin(SampledAdmin):
    """Tasks set aside after killing their worker (``SYS-005``); read to find the cause."""

    list_display = ("created_at", "task_name", "task_id", "worker_deaths", "incident")
    list_filter = ("task_name",)
    search_fields = ("task_id", "task_name")
    readonly_fields = ("task_id", "task_name", "args", "kwargs", "worker_deaths", "incident")
