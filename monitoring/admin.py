from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from monitoring.models import Incident, ProcessHeartbeat
from monitoring.services import incident_acknowledge, incident_resolve


@admin.register(ProcessHeartbeat)
class ProcessHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("process", "last_seen_at", "hostname")
    readonly_fields = ("process", "last_seen_at", "hostname")

    def has_add_permission(self, request):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "severity",
        "source",
        "title",
        "state",
        "occurrences",
        "first_seen_at",
        "last_seen_at",
    )
    list_filter = ("severity", "state", "category", "code")
    search_fields = ("code", "source", "title")
    readonly_fields = [field.name for field in Incident._meta.fields]
    actions = ["acknowledge_selected", "resolve_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Acknowledge the selected incidents"))
    def acknowledge_selected(self, request, queryset):
        for incident in queryset:
            incident_acknowledge(actor=request.user, incident_id=incident.pk)

    @admin.action(description=_("Resolve the selected incidents"))
    def resolve_selected(self, request, queryset):
        for incident in queryset:
            incident_resolve(actor=request.user, incident_id=incident.pk)
