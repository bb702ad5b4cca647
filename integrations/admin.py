import json

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integrations import services
from integrations.models import (
    Discrepancy,
    InboundRecord,
    Node,
    OutboxMessage,
    ReconciliationRun,
    RepairPolicy,
)
from integrations.reconciliation import discrepancies_decide
from integrations.selectors import node_sync_status_list
from integrations.tasks import pull_node
from inventory.models import Location
from mes.admin import (
    LargeTableAdmin,
    NoAddMixin,
    NoChangeMixin,
    NoDeleteMixin,
    ReadOnlyAdmin,
    issued_tokens_response,
)
from mes.errors import ApplicationError


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
        "last_error_text",
        "last_error_at",
    )
    exclude = ("last_error_message",)
    actions = ["rotate_token", "revoke_token", "pull_now"]

    @admin.display(description=_("last error"))
    def last_error_text(self, node):
        # The other system's or the network's own words: shown as they came, as code.
        return (
            format_html("<code>{}</code>", node.last_error_message)
            if node.last_error_message
            else "-"
        )

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

    @admin.action(description=_("Issue a new inbound token (shown once)"), permissions=["change"])
    def rotate_token(self, request, queryset):
        tokens = [
            (node.name, services.node_token_rotate(node_id=node.pk))
            for node in queryset.order_by("name")
        ]
        # Shown on a page of its own, never through the message storage.
        return issued_tokens_response(request, self, tokens)

    @admin.action(
        description=_("Revoke the inbound token (pushes are refused at once)"),
        permissions=["change"],
    )
    def revoke_token(self, request, queryset):
        nodes = list(queryset)
        for node in nodes:
            services.node_token_revoke(node_id=node.pk)
        self.message_user(
            request,
            _("Inbound tokens revoked: %(nodes)s") % {"nodes": ", ".join(n.name for n in nodes)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Pull now"))
    def pull_now(self, request, queryset):

        for node in queryset:
            pull_node.delay(node.pk)
        self.message_user(request, _("Pulls enqueued."), messages.SUCCESS)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(NoAddMixin, NoDeleteMixin, LargeTableAdmin):
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
    readonly_fields = [
        "payload_text" if field.name == "payload" else field.name
        for field in OutboxMessage._meta.fields
    ]
    actions = ["replay_selected"]

    @admin.display(description=_("payload"))
    def payload_text(self, message):
        # The message as the other system receives it: JSON, shown as code.
        payload = json.dumps(message.payload, ensure_ascii=False, indent=2, default=str)
        return format_html("<pre>{}</pre>", payload)

    @admin.action(description=_("Replay the selected dead letters"))
    def replay_selected(self, request, queryset):
        count = services.outbox_messages_replay(
            actor=request.user, message_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request, _("%(count)d messages queued again.") % {"count": count}, messages.SUCCESS
        )


@admin.register(InboundRecord)
class InboundRecordAdmin(NoAddMixin, NoChangeMixin, LargeTableAdmin):
    list_display = ("id", "node", "kind", "external_id", "received_at")
    list_filter = ("node", "kind")
    search_fields = ("external_id",)
    readonly_fields = [
        {"payload": "payload_text", "result": "result_text"}.get(field.name, field.name)
        for field in InboundRecord._meta.fields
    ]

    @admin.display(description=_("payload"))
    def payload_text(self, record):
        # As the other system sent it: JSON, shown as code.
        return format_html(
            "<pre>{}</pre>", json.dumps(record.payload, ensure_ascii=False, indent=2)
        )

    @admin.display(description=_("result"))
    def result_text(self, record):
        return format_html("<pre>{}</pre>", json.dumps(record.result, ensure_ascii=False, indent=2))


# --- Reconciliation ----------------------------------------------------------------
@admin.register(RepairPolicy)
class RepairPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "priority",
        "category",
        "location_type_label",
        "source_of_truth",
        "auto_limit_quantity",
        "auto_limit_percent",
    )
    list_display_links = ("priority", "category")
    list_filter = ("source_of_truth",)
    ordering = ("priority", "id")

    @admin.display(description=_("location type"), ordering="location_type")
    def location_type_label(self, policy):
        if not policy.location_type:
            return _("any")
        types = dict(Location.Type.choices)
        return types.get(policy.location_type, policy.location_type)


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    """Runs are written by the reconciliation only; here they are read."""

    list_display = (
        "id",
        "run_date",
        "trigger",
        "state",
        "dry_run",
        "cutoff_at",
        "progress",
        "discrepancy_count",
        "started_by",
        "started_at",
        "finished_at",
    )
    list_filter = ("state", "trigger", "dry_run")
    date_hierarchy = "run_date"
    list_select_related = ("started_by",)
    readonly_fields = [
        *(field.name for field in ReconciliationRun._meta.fields),
        "differences",
        "run_page",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(discrepancy_count=Count("discrepancies"))

    @admin.display(description=_("differences"), ordering="discrepancy_count")
    def discrepancy_count(self, run):
        return run.discrepancy_count

    @admin.display(description=_("differences"))
    def differences(self, run):
        url = reverse("admin:integrations_discrepancy_changelist")
        return format_html(
            '<a href="{}?run__id__exact={}">{}</a>', url, run.pk, _("The differences of this run")
        )

    @admin.display(description=_("run page"))
    def run_page(self, run):
        url = reverse("integrations:reconciliation_run", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, url)


@admin.register(Discrepancy)
class DiscrepancyAdmin(NoAddMixin, NoDeleteMixin, admin.ModelAdmin):
    """Read-only; approving and rejecting go through the reconciliation service."""

    list_display = (
        "id",
        "run",
        "system",
        "kind",
        "material_code",
        "batch",
        "location",
        "mes_quantity",
        "other_quantity",
        "difference",
        "repair",
        "decided_by",
        "decided_at",
    )
    list_filter = ("repair", "kind", "system", "run__run_date", "run__trigger")
    search_fields = ("material_code", "location", "batch")
    list_select_related = ("run", "decided_by")
    readonly_fields = [field.name for field in Discrepancy._meta.fields]
    actions = ["approve_selected", "reject_selected"]

    def has_change_permission(self, request, obj=None):
        # The list's actions need the change permission; one difference is only shown.
        return obj is None and super().has_change_permission(request)

    def _decide(self, request, queryset, *, approve: bool) -> None:
        by_run: dict[int, list[int]] = {}
        for run_id, pk in queryset.order_by("run_id", "pk").values_list("run_id", "pk"):
            by_run.setdefault(run_id, []).append(pk)
        decided = 0
        for run_id, ids in by_run.items():
            try:
                decided += discrepancies_decide(
                    actor=request.user, run_id=run_id, discrepancy_ids=ids, approve=approve
                )
            except ApplicationError as error:
                self.message_user(request, f"{error.code}: {error.message}", messages.ERROR)
        selected = sum(len(ids) for ids in by_run.values())
        message = (
            _("%(decided)d of %(selected)d approved and repaired.")
            if approve
            else _("%(decided)d of %(selected)d rejected.")
        )
        self.message_user(
            request, message % {"decided": decided, "selected": selected}, messages.SUCCESS
        )

    @admin.action(
        description=_("Approve and repair the selected differences"), permissions=["change"]
    )
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected differences"), permissions=["change"])
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, approve=False)
