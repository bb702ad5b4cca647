from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from integrations import services
from integrations.models import InboundRecord, Node, OutboxMessage
from integrations.selectors import node_sync_status_list


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "transport",
        "is_active",
        "last_outbound_success_at",
        "last_inbound_success_at",
        "last_error_code",
        "last_error_at",
        "backlog",
        "dead_letters",
    )
    list_filter = ("kind", "transport", "is_active")
    search_fields = ("name", "base_url")
    readonly_fields = (
        "last_outbound_success_at",
        "last_inbound_success_at",
        "last_attempt_at",
        "last_error_code",
        "last_error_message",
        "last_error_at",
    )
    actions = ["rotate_token", "pull_now"]

    def get_queryset(self, request):
        self._status = {status.node.pk: status for status in node_sync_status_list()}
        return super().get_queryset(request)

    @admin.display(description=_("backlog"))
    def backlog(self, node):
        return self._status[node.pk].backlog if node.pk in self._status else 0

    @admin.display(description=_("dead letters"))
    def dead_letters(self, node):
        return self._status[node.pk].dead_letters if node.pk in self._status else 0

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.node_pull_schedule_ensure(node_id=obj.pk)

    @admin.action(description=_("Issue a new inbound token (shown once)"))
    def rotate_token(self, request, queryset):
        for node in queryset:
            token = services.node_token_rotate(node_id=node.pk)
            self.message_user(
                request,
                _("New token for %(node)s (copy it now, it is not shown again): %(token)s")
                % {"node": node.name, "token": token},
                messages.WARNING,
            )

    @admin.action(description=_("Pull now"))
    def pull_now(self, request, queryset):
        from integrations.tasks import pull_node

        for node in queryset:
            pull_node.delay(node.pk)
        self.message_user(request, _("Pulls enqueued."), messages.SUCCESS)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "node",
        "event_type",
        "aggregate_key",
        "state",
        "attempts",
        "last_error_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    )
    list_filter = ("state", "node", "event_type", "last_error_code")
    search_fields = ("aggregate_key", "message_id")
    list_select_related = ("node",)
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["replay_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Replay the selected dead letters"))
    def replay_selected(self, request, queryset):
        count = services.outbox_messages_replay(
            actor=request.user, message_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request, _("%(count)d messages queued again.") % {"count": count}, messages.SUCCESS
        )


@admin.register(InboundRecord)
class InboundRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "node", "kind", "external_id", "received_at")
    list_filter = ("node", "kind")
    search_fields = ("external_id",)
    readonly_fields = [field.name for field in InboundRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
