from django.contrib import admin

from integrations.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "target", "event_type", "aggregate_key", "state", "created_at")
    list_filter = ("target", "event_type", "state")
    search_fields = ("aggregate_key", "message_id")
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
