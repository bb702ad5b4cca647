from django.contrib import admin

from monitoring.models import ProcessHeartbeat


@admin.register(ProcessHeartbeat)
class ProcessHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("process", "last_seen_at", "hostname")
    readonly_fields = ("process", "last_seen_at", "hostname")

    def has_add_permission(self, request):
        return False
