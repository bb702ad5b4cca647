from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from mes.admin import LargeTableAdmin, NoAddMixin, NoDeleteMixin, ReadOnlyAdmin
from mes.admin_site import PermissionLabelsMixin, permission_label
from mes.errors import ApplicationError
from workorders import services
from workorders.models import (
    OperationState,
    Routing,
    RoutingComponent,
    RoutingOperation,
    Shift,
    Team,
    TemporaryGrant,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)
from workorders.services.quality_hold import INSPECTION_NOT_LAST, inspection_not_last
from workorders.templatetags.workorder_format import (
    MOVE_LABELS,
    event_sentence,
    operation_state_label,
    source_label,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "leader")
    search_fields = ("code", "name")
    filter_horizontal = ("members",)


@admin.register(WorkCenter)
class WorkCenterAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "capacity", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    filter_horizontal = ("teams",)


class RoutingOperationFormSet(BaseInlineFormSet):
    """Inspection after an operation only on the last one (never silently ignored)."""

    def clean(self) -> None:
        super().clean()
        rows = [
            (form.cleaned_data["sequence"], bool(form.cleaned_data.get("inspection_after")))
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("sequence") is not None
            and not form.cleaned_data.get("DELETE")
        ]
        if inspection_not_last(rows):
            raise ValidationError(INSPECTION_NOT_LAST)


class RoutingOperationForm(forms.ModelForm):
    class Meta:
        model = RoutingOperation
        fields = [
            "routing",
            "sequence",
            "name",
            "work_center",
            "setup_minutes",
            "run_minutes_per_unit",
            "inspection_after",
        ]

    def clean(self) -> dict:
        data = super().clean()
        routing, sequence = data.get("routing"), data.get("sequence")
        if routing is not None and sequence is not None and data.get("inspection_after"):
            others = routing.operations.exclude(pk=self.instance.pk).values_list(
                "sequence", "inspection_after"
            )
            if inspection_not_last([*others, (sequence, True)]):
                raise ValidationError(INSPECTION_NOT_LAST)
        return data


class RoutingOperationInline(admin.TabularInline):
    model = RoutingOperation
    formset = RoutingOperationFormSet
    extra = 0
    show_change_link = True


class RoutingComponentInline(admin.TabularInline):
    model = RoutingComponent
    extra = 0
    autocomplete_fields = ("material", "issue_location")


@admin.register(Routing)
class RoutingAdmin(admin.ModelAdmin):
    list_display = ("code", "product", "is_default")
    search_fields = ("code", "product__code", "product__name")
    autocomplete_fields = ("product",)
    inlines = [RoutingOperationInline]


@admin.register(RoutingOperation)
class RoutingOperationAdmin(admin.ModelAdmin):
    form = RoutingOperationForm
    list_display = ("routing", "sequence", "name", "work_center", "inspection_after")
    search_fields = ("routing__code", "name")
    inlines = [RoutingComponentInline]


class OperationInline(NoAddMixin, admin.TabularInline):
    model = WorkOrderOperation
    fields = (
        "sequence",
        "name",
        "work_center",
        "state_label",
        "input_quantity",
        "good_quantity",
        "scrap_quantity",
        "assigned_to",
        "accepted_by",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("state"))
    def state_label(self, operation):
        return operation_state_label(operation.state)


class EventInline(NoAddMixin, admin.TabularInline):
    model = WorkOrderEvent
    fields = ("occurred_at", "what_happened", "actor", "grant", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("operation", "actor", "grant")

    @admin.display(description=_("what happened"))
    def what_happened(self, event):
        return event_sentence(event)


class MoveFilter(admin.SimpleListFilter):
    title = _("move")
    parameter_name = "transition"

    def lookups(self, request, model_admin):
        return [(name, label) for name, label in MOVE_LABELS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(transition=self.value()) if self.value() else queryset


class ToStateFilter(admin.SimpleListFilter):
    title = _("to")
    parameter_name = "to_state"

    def lookups(self, request, model_admin):
        labels = {**dict(OperationState.choices), **dict(WorkOrderState.choices)}
        return sorted(labels.items(), key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(to_state=self.value()) if self.value() else queryset


def _transition_action(name: str, label):
    def action(modeladmin, request, queryset):
        for work_order in queryset.order_by("pk"):
            try:
                services.work_order_transition(
                    actor=request.user,
                    work_order_id=work_order.pk,
                    transition=name,
                    reason=str(_("From the admin")),
                )
            except ApplicationError as error:
                modeladmin.message_user(
                    request, f"{work_order.number}: {error.code} {error.message}", messages.ERROR
                )

    action.__name__ = f"transition_{name}"
    action.short_description = label
    return action


@admin.register(WorkOrder)
class WorkOrderAdmin(NoAddMixin, NoDeleteMixin, admin.ModelAdmin):
    """Read-mostly: states change only through the actions, which call services."""

    list_display = (
        "number",
        "product",
        "quantity",
        "completed_quantity",
        "state",
        "due_date",
        "priority",
        "source_display",
        "source_reference",
    )
    list_filter = ("state", "due_date")
    search_fields = ("number", "product__code", "source_reference")
    list_select_related = ("product",)
    readonly_fields = [
        "source_display" if field.name == "source" else field.name
        for field in WorkOrder._meta.fields
    ]
    inlines = [OperationInline, EventInline]
    actions = [
        _transition_action("dispatch", _("Dispatch")),
        _transition_action("pause", _("Pause")),
        _transition_action("resume", _("Resume")),
        _transition_action("close", _("Close")),
        _transition_action("cancel", _("Cancel")),
    ]

    @admin.display(description=_("source"), ordering="source")
    def source_display(self, work_order):
        return source_label(work_order.source)


@admin.register(WorkOrderEvent)
class WorkOrderEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = ("occurred_at", "work_order", "what_happened", "actor", "grant")
    list_filter = (MoveFilter, ToStateFilter)
    search_fields = ("work_order__number", "reason", "device_id")
    list_select_related = ("work_order", "operation", "actor", "grant")
    fields = (
        "work_order",
        "what_happened",
        "occurred_at",
        "recorded_at",
        "actor",
        "grant",
        "reason",
        "device_id",
        "idempotency_key",
        "request_fingerprint",
    )
    readonly_fields = fields

    @admin.display(description=_("what happened"))
    def what_happened(self, event):
        return event_sentence(event)


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ("name", "starts", "ends", "weekdays")


GRANT_FIELDS = ("user", "permissions", "shift", "starts_at", "ends_at", "reason")


@admin.register(TemporaryGrant)
class TemporaryGrantAdmin(PermissionLabelsMixin, admin.ModelAdmin):
    list_display = ("user", "starts_at", "ends_at", "shift", "reason", "granted_by", "is_active")
    list_filter = ("shift", "revoked_at")
    search_fields = ("user__username", "reason")
    filter_horizontal = ("permissions",)
    readonly_fields = ("granted_by", "revoked_at")
    actions = ["revoke_selected"]

    @admin.display(boolean=True, description=_("active now"))
    def is_active(self, grant):
        now = timezone.now()
        return grant.revoked_at is None and grant.starts_at <= now < grant.ends_at

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a grant is changed by revoking it and granting anew
            fields = (
                "permission_names" if name == "permissions" else name for name in GRANT_FIELDS
            )
            return (*fields, "granted_by", "revoked_at")
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return fields
        return ["permission_names" if name == "permissions" else name for name in fields]

    @admin.display(description=_("permissions"))
    def permission_names(self, grant):
        permissions = grant.permissions.select_related("content_type")
        return format_html_join(
            mark_safe("<br>"), "{}", ((permission_label(p),) for p in permissions)
        )

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing is editable on a saved grant
        data = form.cleaned_data
        grant = services.temporary_grant_create(
            actor=request.user,
            user=data["user"],
            permissions=[
                f"{permission.content_type.app_label}.{permission.codename}"
                for permission in data["permissions"]
            ],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data["reason"],
            shift=data.get("shift"),
        )
        obj.pk, obj.granted_by = grant.pk, grant.granted_by  # the admin's message names it

    def save_related(self, request, form, formsets, change):
        """Nothing to save: the service has set the grant's permissions."""

    @admin.action(description=_("Revoke the selected grants"))
    def revoke_selected(self, request, queryset):
        for grant in queryset:
            services.temporary_grant_revoke(actor=request.user, grant_id=grant.pk)


# Skills, posts, grant rules and the staffing history register themselves.
from workorders import staffing_admin  # noqa: E402, F401
