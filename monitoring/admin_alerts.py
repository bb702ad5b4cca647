"""Admin of the alerting's configuration: error and node thresholds, checked endpoints,
and the error records (read only). Imported by ``monitoring.admin``."""

from django.contrib import admin

from mes.admin import NoAddMixin, NoChangeMixin
from monitoring.models import CheckedEndpoint, ErrorOccurrence, ErrorThreshold, NodeThreshold


@admin.register(ErrorThreshold)
class ErrorThresholdAdmin(admin.ModelAdmin):
    list_display = ("code", "count", "window_minutes", "severity")


@admin.register(NodeThreshold)
class NodeThresholdAdmin(admin.ModelAdmin):
    list_display = (
        "node",
        "max_lag_minutes",
        "max_backlog",
        "max_dead_letters",
        "silence_minutes",
        "work_days",
        "work_start",
        "work_end",
    )


@admin.register(CheckedEndpoint)
class CheckedEndpointAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "state",
        "consecutive_failures",
        "refused_calls",
        "last_checked_at",
        "is_active",
    )
    list_filter = ("kind", "state", "is_active")
    readonly_fields = (
        "state",
        "consecutive_failures",
        "refused_calls",
        "opened_at",
        "last_checked_at",
        "last_error",
    )


@admin.register(ErrorOccurrence)
class ErrorOccurrenceAdmin(NoAddMixin, NoChangeMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "code", "place", "request_id")
    list_filter = ("code",)
    search_fields = ("place", "request_id")
