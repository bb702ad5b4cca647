from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from inventory import services
from inventory.models import (
    Batch,
    CountEvent,
    CountLine,
    CountTask,
    Location,
    Material,
    MovementSource,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
    StockReservation,
)
from mes.admin import LargeTableAdmin, NoAddMixin, ReadOnlyAdmin
from mes.errors import ApplicationError
from mes.permissions import may


class MasterDataAdmin(admin.ModelAdmin):
    """Saves and deletes through ``inventory.services`` (``<entity>_create``,
    ``_update``, ``_delete``), like the API and the master data other systems
    send: one write path per entity."""

    entity = ""  # "material", "location" or "batch"

    def _service(self, action: str):
        return getattr(services, f"{self.entity}_{action}")

    def save_model(self, request, obj, form, change):
        fields = dict(form.cleaned_data)
        if change:
            self._service("update")(actor=request.user, **{self.entity: obj}, fields=fields)
        else:
            created = self._service("create")(actor=request.user, fields=fields)
            obj.pk = created.pk  # the admin's message and redirect name it

    def delete_model(self, request, obj):
        self._service("delete")(actor=request.user, **{self.entity: obj})

    def delete_queryset(self, request, queryset):
        for instance in queryset:
            self.delete_model(request, instance)


@admin.register(Material)
class MaterialAdmin(MasterDataAdmin):
    entity = "material"
    list_display = (
        "code",
        "name",
        "specification",
        "unit",
        "decimal_places",
        "category",
        "is_batch_tracked",
        "allow_negative",
        "safety_stock",
        "is_active",
    )
    list_filter = ("category", "is_batch_tracked", "allow_negative", "is_active", "unit")
    search_fields = ("code", "name", "specification")


@admin.register(Location)
class LocationAdmin(MasterDataAdmin):
    entity = "location"
    list_display = ("code", "name", "parent", "level", "location_type", "is_active")
    list_filter = ("level", "location_type", "is_active")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)


@admin.register(Batch)
class BatchAdmin(MasterDataAdmin):
    entity = "batch"
    list_display = ("number", "material", "production_date", "expiry_date", "supplier_lot")
    list_filter = ("expiry_date",)
    search_fields = ("number", "supplier_lot", "material__code", "material__name")
    autocomplete_fields = ("material",)
    list_select_related = ("material",)


@admin.register(StockBalance)
class StockBalanceAdmin(ReadOnlyAdmin):
    list_display = ("material", "location", "batch", "on_hand", "reserved", "updated_at")
    list_filter = ("location__location_type", "location")
    search_fields = ("material__code", "material__name", "location__code", "batch__number")
    list_select_related = ("material", "location", "batch")


class LedgerEntryInline(NoAddMixin, admin.TabularInline):
    model = StockLedgerEntry
    fields = ("location", "quantity", "balance_after", "occurred_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


class RecoveredFilter(admin.SimpleListFilter):
    """Exception-recovered data: what the reconciliation applied from another system's numbers."""

    title = _("Exception-recovered data")
    parameter_name = "recovered"

    def lookups(self, request, model_admin):
        return [("yes", _("Exception-recovered data only")), ("no", _("Other movements"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(source=MovementSource.RECONCILIATION)
        if self.value() == "no":
            return queryset.exclude(source=MovementSource.RECONCILIATION)
        return queryset


@admin.register(StockMovement)
class StockMovementAdmin(LargeTableAdmin, ReadOnlyAdmin):
    list_display = (
        "id",
        "movement_type",
        "recovered_tag",
        "material",
        "batch",
        "location",
        "to_location",
        "quantity",
        "reference",
        "source",
        "actor",
        "occurred_at",
        "recorded_at",
    )
    list_filter = ("movement_type", RecoveredFilter, "source", "recorded_at")
    search_fields = ("material__code", "reference", "idempotency_key", "device_id", "note")
    list_select_related = ("material", "batch", "location", "to_location", "actor")
    # No date_hierarchy: its year links read every movement (2.6 s for 4M); the
    # recorded_at filter narrows by date.
    inlines = [LedgerEntryInline]
    actions = ["reverse_selected"]

    @admin.action(
        description=_("Reverse the selected movements"),
        permissions=["reverse"],
    )
    def reverse_selected(self, request, queryset):
        reversed_count = 0
        for movement in queryset.order_by("pk"):
            try:
                services.stock_movement_reverse(
                    actor=request.user,
                    movement_id=movement.pk,
                    idempotency_key=f"admin-reverse-{movement.pk}",
                    reason=str(_("Reversed in the admin")),
                    source="ui",
                )
                reversed_count += 1
            except ApplicationError as error:
                self.message_user(
                    request, f"#{movement.pk}: {error.code} {error.message}", messages.ERROR
                )
        if reversed_count:
            self.message_user(
                request,
                _("%(count)d movements reversed.") % {"count": reversed_count},
                messages.SUCCESS,
            )

    def has_reverse_permission(self, request):
        return may(request.user, "inventory.reverse_stockmovement")

    @admin.display(description=_("Exception-recovered data"), boolean=True)
    def recovered_tag(self, movement):
        return movement.is_recovered


class CountLineInline(NoAddMixin, admin.TabularInline):
    model = CountLine
    fields = (
        "location",
        "material",
        "batch",
        "book_quantity",
        "counted_quantity",
        "needs_recount",
        "recount_quantity",
        "movement",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


class CountEventInline(NoAddMixin, admin.TabularInline):
    model = CountEvent
    fields = ("at", "kind", "from_state", "to_state", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(CountTask)
class CountTaskAdmin(ReadOnlyAdmin):
    """Counts are made on their pages (inventory:counts); the admin shows them."""

    list_display = ("id", "title", "state", "blind", "cutoff_at", "created_by", "approved_by")
    list_filter = ("state", "blind")
    search_fields = ("title", "scope")
    list_select_related = ("created_by", "approved_by")
    inlines = [CountLineInline, CountEventInline]


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyAdmin):
    list_display = ("id", "reference", "balance", "quantity", "open_quantity", "state")
    list_filter = ("state",)
    search_fields = ("reference", "balance__material__code")
    list_select_related = ("balance__material", "balance__location")
    actions = ["release_selected"]

    @admin.action(description=_("Release the selected reservations"), permissions=["release"])
    def release_selected(self, request, queryset):
        for reservation in queryset.order_by("pk"):
            services.stock_reservation_release(actor=request.user, reservation_id=reservation.pk)
        self.message_user(request, _("Reservations released."), messages.SUCCESS)

    def has_release_permission(self, request):
        return may(request.user, "inventory.change_stockreservation")
