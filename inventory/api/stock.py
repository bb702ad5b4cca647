"""Balances: the stock list, by cursor pages of value rows written by hand."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from inventory import selectors
from inventory.api.answers import quantity_text, time_text
from inventory.models import Location, StockBalance
from mes.fields import StrictBooleanField
from mes.pagination import CursorOrPageNumbers, KeysetOrPageNumbers, PageNumbers
from mes.permissions import ModelPermissions


class StockBalanceOutputSerializer(serializers.ModelSerializer):
    material = serializers.CharField(source="material.code")
    material_name = serializers.CharField(source="material.name")
    unit = serializers.CharField(source="material.unit")
    location = serializers.CharField(source="location.code")
    batch = serializers.CharField(source="batch.number", default=None, allow_null=True)
    available = serializers.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        model = StockBalance
        fields = [
            "id",
            "material",
            "material_name",
            "unit",
            "location",
            "batch",
            "on_hand",
            "reserved",
            "available",
            "updated_at",
        ]

    def to_representation(self, balance):
        """DRF's rows, written by hand: for a page of 50 balances DRF's field machinery
        cost more than the database. A test holds this to DRF's own output."""
        batch = balance.batch
        return balance_row_data(
            [
                balance.pk,
                balance.material.code,
                balance.material.name,
                balance.material.unit,
                balance.location.code,
                batch.number if batch is not None else None,
                balance.on_hand,
                balance.reserved,
                balance.updated_at,
            ],
            timezone.get_current_timezone(),
        )


def balance_row_data(row, zone) -> dict:
    """A row of ``selectors.STOCK_BALANCE_ROW`` as the API answers a balance
    (``StockBalanceOutputSerializer``'s fields)."""
    balance_id, material, name, unit, location, batch, on_hand, reserved, updated_at = row
    return {
        "id": balance_id,
        "material": material,
        "material_name": name,
        "unit": unit,
        "location": location,
        "batch": batch,
        "on_hand": quantity_text(on_hand),
        "reserved": quantity_text(reserved),
        "available": quantity_text(on_hand - reserved),
        "updated_at": time_text(updated_at, zone),
    }


class StockBalancePages(KeysetOrPageNumbers):
    ordering = selectors.STOCK_BALANCE_KEYSET
    nullable = selectors.STOCK_BALANCE_NULLABLE
    key_types = (str, str, str, int)


class StockBalanceFilterSerializer(serializers.Serializer):
    # Blank is no filter, as an HTML form sends it (and so the schema says).
    material = serializers.CharField(required=False, allow_blank=True)
    location = serializers.CharField(required=False, allow_blank=True)
    batch = serializers.CharField(required=False, allow_blank=True)
    location_type = serializers.ChoiceField(choices=Location.Type.choices, required=False)
    search = serializers.CharField(required=False, allow_blank=True)
    below_safety_stock = StrictBooleanField(required=False, default=False)
    include_empty = StrictBooleanField(required=False, default=False)


_PAGE_PARAMS = {CursorOrPageNumbers.cursor_query_param, PageNumbers.page_query_param}


class StockBalanceListApi(generics.ListAPIView):
    """Balances by material, location and batch; filter by material, location, batch
    code or below safety stock. Cursor pages (``?page=N`` still answers page numbers).

    The rows are read as values by one prepared query and written by hand
    (``balance_row_data``), with no count: a page of 50 costs little more than the
    cheapest API call (docs/benchmarks.md).
    """

    serializer_class = StockBalanceOutputSerializer
    permission_classes = [ModelPermissions]
    queryset = StockBalance.objects.none()  # for the permission class
    filter_backends = []
    pagination_class = StockBalancePages

    @extend_schema(parameters=[StockBalanceFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        filters = self._filters()
        paginator = self.paginator
        zone = timezone.get_current_timezone()
        if paginator.page_numbers_requested(request):
            rows = paginator.paginate_queryset(selectors.stock_balance_rows(**filters), request)
        else:
            rows = paginator.paginate_rows(
                request,
                fetch=lambda forward, key, limit: selectors.stock_balance_page_rows(
                    key=key, forward=forward, limit=limit, **filters
                ),
                key_of=selectors.stock_balance_key,
            )
        return paginator.get_paginated_response([balance_row_data(row, zone) for row in rows])

    def _filters(self) -> dict:
        query = self.request.query_params
        # The plain list has nothing to check: building the serializer cost a tenth of it.
        if not query.keys() - _PAGE_PARAMS:
            return {}
        filters = StockBalanceFilterSerializer(data=query)
        filters.is_valid(raise_exception=True)
        return filters.validated_data
