"""The supervisor's admin for the shop floor's records: badges, devices, fault
reports and the actions set aside. The models live in workorders (same tables);
every write goes through ``floor.services``."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from floor import services as floor_services
from floor.errors import hint_for
from floor.strings import CLIENT_STRINGS
from mes.admin import NoAddMixin, NoDeleteMixin, issued_tokens_response
from mes.errors import REGISTRY, ApplicationError
from workorders.models import (
    FaultCategory,
    FaultReport,
    FloorActionRejection,
    FloorDevice,
    WorkerBadge,
    WorkOrderOperation,
)


# --- Shop floor -----------------------------------------------------------------------------
class WorkerBadgeForm(forms.ModelForm):
    pin = forms.CharField(
        label=_("New PIN"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("4 to 8 digits; leave empty to keep the current PIN."),
    )
    clear_pin = forms.BooleanField(label=_("Remove the PIN"), required=False)

    class Meta:
        model = WorkerBadge
        fields = ("user", "code", "is_active")

    def clean_pin(self):
        pin = self.cleaned_data["pin"]
        if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise forms.ValidationError(_("A PIN has 4 to 8 digits."))
        return pin

    def save(self, commit=True):
        badge = super().save(commit=False)
        if self.cleaned_data.get("clear_pin"):
            badge.pin_hash = ""
        elif self.cleaned_data.get("pin"):
            badge.pin_hash = make_password(self.cleaned_data["pin"])
        if commit:
            badge.save()
        return badge


@admin.register(WorkerBadge)
class WorkerBadgeAdmin(admin.ModelAdmin):
    form = WorkerBadgeForm
    list_display = ("code", "user", "is_active", "has_pin", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)

    @admin.display(boolean=True, description=_("PIN set"))
    def has_pin(self, badge):
        return bool(badge.pin_hash)


@admin.register(FloorDevice)
class FloorDeviceAdmin(admin.ModelAdmin):
    """Registered scanners: adding one issues its token, shown once on the next page."""

    list_display = (
        "name",
        "is_active",
        "issued_at",
        "issued_by",
        "revoked_at",
        "revoked_by",
        "last_seen_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "note")
    fields = (
        "name",
        "note",
        "is_active",
        "issued_at",
        "issued_by",
        "revoked_at",
        "revoked_by",
        "last_seen_at",
    )
    readonly_fields = (
        "is_active",
        "issued_at",
        "issued_by",
        "revoked_at",
        "revoked_by",
        "last_seen_at",
    )
    actions = ["rotate_token", "revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = floor_services.floor_device_register(
            actor=request.user, name=obj.name, note=obj.note
        )
        obj.pk = issued.device.pk
        request._issued_device_tokens = [(issued.device.name, issued.token)]

    def response_add(self, request, obj, post_url_continue=None):
        tokens = getattr(request, "_issued_device_tokens", None)
        if tokens:
            return issued_tokens_response(request, self, tokens)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(
        description=_("Issue a new token (shown once; the old one stops working)"),
        permissions=["change"],
    )
    def rotate_token(self, request, queryset):
        tokens = []
        for device in queryset.order_by("name"):
            try:
                issued = floor_services.floor_device_token_rotate(
                    actor=request.user, device_id=device.pk
                )
            except ApplicationError as error:
                self.message_user(request, f"{error.code} {error.message}", messages.ERROR)
                return None
            tokens.append((issued.device.name, issued.token))
        return issued_tokens_response(request, self, tokens)

    @admin.action(
        description=_("Revoke the token (the device is refused at once)"), permissions=["change"]
    )
    def revoke(self, request, queryset):
        count = 0
        for device in queryset:
            try:
                floor_services.floor_device_revoke(actor=request.user, device_id=device.pk)
            except ApplicationError as error:
                self.message_user(request, f"{error.code} {error.message}", messages.ERROR)
                return
            count += 1
        self.message_user(
            request, _("%(count)d devices revoked.") % {"count": count}, messages.SUCCESS
        )


@admin.register(FaultReport)
class FaultReportAdmin(NoAddMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "category",
        "work_center",
        "operation",
        "reported_by",
        "incident",
        "photo_link",
    )
    list_filter = ("category", "work_center")
    search_fields = ("note", "work_center__code", "operation__work_order__number", "device_id")
    list_select_related = ("work_center", "operation__work_order", "reported_by", "incident")
    # The photo is served by the floor app to who may see fault reports, never from /media/.
    exclude = ("photo",)
    readonly_fields = [
        *(field.name for field in FaultReport._meta.fields if field.name != "photo"),
        "photo_link",
    ]

    @admin.display(description=_("photo"))
    def photo_link(self, report):
        if not report.photo:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("floor:fault_photo", args=[report.pk]),
            pgettext_lazy("photo link", "Open"),
        )


# What a set-aside action carried, named for people; its key and time have columns.
ACTION_FIELD_LABELS = {
    "user": _("user"),
    "operation": _("operation"),
    "operation_code": _("operation"),
    "work_center": _("work center"),
    "material": _("material"),
    "batch": _("batch"),
    "location": _("location"),
    "to_location": _("to location"),
    "quantity": _("quantity"),
    "good_quantity": _("good"),
    "scrap_quantity": _("scrap"),
    "scrap_reason": _("scrap reason"),
    "reason": _("reason"),
    "return_to": _("returned to"),
    "category": _("category"),
    "note": _("note"),
    "photo": _("photo"),
}
RETURN_TO_LABELS = {"planner": _("the planner"), "previous": _("the previous operation")}


def action_type_label(action_type: str) -> str:
    """``put_away`` -> "Put away", in the reader's language; an unknown type as it came."""
    return str(CLIENT_STRINGS.get(f"action_{action_type}", action_type or "-"))


def _action_value(key: str, value) -> str:
    if key == "operation":
        operation = (
            WorkOrderOperation.objects.select_related("work_order").filter(pk=value).first()
            if isinstance(value, int)
            else None
        )
        return str(operation) if operation else str(value)
    if key == "category":
        return str(FaultCategory(value).label) if value in FaultCategory.values else str(value)
    if key == "return_to":
        return str(RETURN_TO_LABELS.get(value, value))
    return str(value)


def action_facts(action: dict) -> list[tuple[str, str]]:
    """``(label, value)`` for what the device sent, in the order of the labels."""
    action = action if isinstance(action, dict) else {}
    return [
        (str(label), _action_value(key, action[key]))
        for key, label in ACTION_FIELD_LABELS.items()
        if action.get(key) not in (None, "")
    ]


def error_facts(code: str, error: dict) -> list[tuple[str, str]]:
    """Why it was refused: the code's message and hint now, in the reader's language."""
    registered = REGISTRY.get(code)
    error = error if isinstance(error, dict) else {}
    facts = [(code, str(registered.message) if registered else str(error.get("message", "")))]
    facts.append((str(_("What to do")), hint_for(code)))
    for name, problems in (error.get("fields") or {}).items():
        label = ACTION_FIELD_LABELS.get(name, name)
        facts.append((str(label), " ".join(str(problem) for problem in problems)))
    return facts


class ActionTypeFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action_type"

    def lookups(self, request, model_admin):
        types = FloorActionRejection.objects.values_list("action_type", flat=True).distinct()
        return [(value, action_type_label(value)) for value in sorted(types)]

    def queryset(self, request, queryset):
        return queryset.filter(action_type=self.value()) if self.value() else queryset


@admin.register(FloorActionRejection)
class FloorActionRejectionAdmin(NoAddMixin, admin.ModelAdmin):
    """Device actions the server refused: what was sent, why, and whether it was settled."""

    list_display = (
        "last_rejected_at",
        "user",
        "device_id",
        "action_label",
        "error_code",
        "attempts",
        "occurred_at",
        "resolved_at",
    )
    list_filter = ("error_code", ActionTypeFilter, ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("idempotency_key", "device_id", "user__username", "error_code")
    list_select_related = ("user",)
    fields = (
        "action_label",
        "action_sentence",
        "error_code",
        "error_sentence",
        "user",
        "device_id",
        "occurred_at",
        "attempts",
        "first_rejected_at",
        "last_rejected_at",
        "resolved_at",
        "resolution",
        "idempotency_key",
    )
    readonly_fields = [name for name in fields if name != "resolution"]
    actions = ["resolve_selected"]

    @admin.display(description=_("action"), ordering="action_type")
    def action_label(self, rejection):
        return action_type_label(rejection.action_type)

    @admin.display(description=_("what was sent"))
    def action_sentence(self, rejection):
        return format_html_join(mark_safe("<br>"), "{}: {}", action_facts(rejection.action)) or "-"

    @admin.display(description=_("why it was refused"))
    def error_sentence(self, rejection):
        return format_html_join(
            mark_safe("<br>"), "{}: {}", error_facts(rejection.error_code, rejection.error)
        )

    @admin.action(description=_("Mark the selected actions as settled"))
    def resolve_selected(self, request, queryset):
        for rejection in queryset.filter(resolved_at__isnull=True):
            floor_services.floor_action_rejection_resolve(
                actor=request.user,
                rejection_id=rejection.pk,
                resolution=str(_("Settled by {user}")).format(user=request.user.get_username()),
            )
