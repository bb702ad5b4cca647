"""The supervisor's admin for the shop floor's records: badges, devices, fault
reports and the actions set aside. The models live in workorders (same tables);
every write goes through ``floor.services``."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from floor import services as floor_services
from mes.admin import NoAddMixin, NoDeleteMixin, issued_tokens_response
from mes.errors import ApplicationError
from workorders.models import FaultReport, FloorActionRejection, FloorDevice, WorkerBadge


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
    readonly_fields = [field.name for field in FaultReport._meta.fields] + ["photo_link"]

    @admin.display(description=_("photo"))
    def photo_link(self, report):
        if not report.photo:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("floor:fault_photo", args=[report.pk]), _("Open")
        )


@admin.register(FloorActionRejection)
class FloorActionRejectionAdmin(NoAddMixin, admin.ModelAdmin):
    """Device actions the server refused: what was sent, why, and whether it was settled."""

    list_display = (
        "last_rejected_at",
        "user",
        "device_id",
        "action_type",
        "error_code",
        "attempts",
        "occurred_at",
        "resolved_at",
    )
    list_filter = ("error_code", "action_type", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("idempotency_key", "device_id", "user__username", "error_code")
    list_select_related = ("user",)
    readonly_fields = [
        field.name for field in FloorActionRejection._meta.fields if field.name != "resolution"
    ]
    actions = ["resolve_selected"]

    @admin.action(description=_("Mark the selected actions as settled"))
    def resolve_selected(self, request, queryset):
        for rejection in queryset.filter(resolved_at__isnull=True):
            floor_services.floor_action_rejection_resolve(
                actor=request.user,
                rejection_id=rejection.pk,
                resolution=str(_("Settled by {user}")).format(user=request.user.get_username()),
            )
