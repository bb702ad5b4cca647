"""Movements: the ledger by movement, one movement, a batch of them, a reversal."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import errors, selectors, services
from inventory.api.answers import IDEMPOTENCY_HEADER, quantity_text, replay_headers, time_text
from inventory.models import MovementSource, StockMovement
from mes.errors import API_VALIDATION, ApplicationError
from mes.fields import OccurredAtField, QueryDateTimeField, StrictCharField
from mes.pagination import CursorOrPageNumbers
from mes.permissions import ModelPermissions, permission_required


class MovementInputSerializer(serializers.Serializer):
    type = StrictCharField(max_length=32)
    material = StrictCharField(max_length=64, trim_whitespace=False)
    location = StrictCharField(max_length=64)
    to_location = StrictCharField(max_length=64, required=False, allow_null=True)
    batch = StrictCharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    quantity = serializers.DecimalField(max_digits=None, decimal_places=None)
    reason = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    reference = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    occurred_at = OccurredAtField(required=False, allow_null=True)
    device_id = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(
        choices=[(value, label) for value, label in MovementSource.choices if value != "ui"],
        required=False,
        default=MovementSource.API,
    )

    def to_request(self, validated: dict | None = None) -> tuple[services.MovementRequest, str]:
        data = dict(self.validated_data if validated is None else validated)
        source = data.pop("source")
        data["movement_type"] = data.pop("type")
        return services.MovementRequest(**data), source


class LedgerEntryOutputSerializer(serializers.Serializer):
    """The shape of a ledger entry in a movement (filled in by ``get_entries``)."""

    id = serializers.IntegerField()
    location = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=6)
    balance_after = serializers.DecimalField(max_digits=18, decimal_places=6)


class MovementOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="movement_type")
    material = serializers.CharField(source="material.code")
    location = serializers.CharField(source="location.code")
    to_location = serializers.CharField(source="to_location.code", default=None, allow_null=True)
    batch = serializers.CharField(source="batch.number", default=None, allow_null=True)
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    reverses = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    entries = serializers.SerializerMethodField()

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "idempotency_key",
            "type",
            "material",
            "location",
            "to_location",
            "batch",
            "quantity",
            "reason",
            "reference",
            "source",
            "device_id",
            "note",
            "occurred_at",
            "recorded_at",
            "actor",
            "reverses",
            "entries",
        ]

    @extend_schema_field(LedgerEntryOutputSerializer(many=True))
    def get_entries(self, movement) -> list[dict]:
        codes = {movement.location_id: movement.location.code}
        if movement.to_location_id:
            codes[movement.to_location_id] = movement.to_location.code
        entries = getattr(movement, "_result_entries", None)
        if entries is None:
            entries = movement.entries.all()
        # By hand rather than a nested serializer per movement: a batch answer
        # holds 500 of them, and building serializers cost more than the write.
        return [
            {
                "id": entry.pk,
                "location": codes[entry.location_id],
                "quantity": LEDGER_DECIMAL.to_representation(entry.quantity),
                "balance_after": LEDGER_DECIMAL.to_representation(entry.balance_after),
            }
            for entry in entries
        ]


LEDGER_DECIMAL = LedgerEntryOutputSerializer().fields["quantity"]


def movement_result_data(result: services.MovementResult) -> dict:
    """The movement and its ledger entries; a replay gets exactly the first body."""
    return movement_results_data([result])[0]


def movement_results_data(results: list[services.MovementResult]) -> list[dict]:
    """:func:`movement_result_data` of many, with one serializer for all."""
    for result in results:
        result.movement._result_entries = result.entries
    return [MOVEMENT_OUTPUT.to_representation(result.movement) for result in results]


# Built once: a movement serializer builds its fields from the model on every use,
# which cost about a millisecond per movement answered. Its fields keep no state.
MOVEMENT_OUTPUT = MovementOutputSerializer()


class MovementFilterSerializer(serializers.Serializer):
    # Blank is no filter, as an HTML form sends it (and so the schema says).
    material = serializers.CharField(required=False, allow_blank=True)
    location = serializers.CharField(required=False, allow_blank=True)
    type = serializers.CharField(required=False, allow_blank=True)
    reference = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True)
    occurred_from = QueryDateTimeField(required=False)
    occurred_to = QueryDateTimeField(required=False)


class MovementPermissions(ModelPermissions):
    """Reading the ledger needs its view permission; posting, the right to make some
    kind of movement (role or grant). Each movement's own type is judged by the
    service (``inventory.services.MOVEMENT_PERMISSIONS``), before its body."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated) and services.may_move_stock(user)


class MovementListCreateApi(generics.ListAPIView):
    """GET: the ledger by movement, newest first, in cursor pages (``?page=N`` still
    answers page numbers). POST: one movement."""

    serializer_class = MovementOutputSerializer
    permission_classes = [MovementPermissions]
    queryset = StockMovement.objects.none()
    filter_backends = []
    pagination_class = CursorOrPageNumbers

    def get_queryset(self):
        filters = MovementFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        if "type" in data:
            data["movement_type"] = data.pop("type")
        return selectors.stock_movement_list(**data)

    @extend_schema(parameters=[MovementFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=MovementInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MovementOutputSerializer, 200: MovementOutputSerializer},
    )
    def post(self, request):
        # Each type needs its own permission: say so before judging the rest of the body.
        movement_type = request.data.get("type") if isinstance(request.data, dict) else None
        if isinstance(movement_type, str) and movement_type in services.MOVEMENT_PERMISSIONS:
            services.movement_authorize(request.user, movement_type)
        movement_request, source = MOVEMENT_INPUT.to_request(
            MOVEMENT_INPUT.run_validation(request.data)
        )
        key = request.headers.get("Idempotency-Key")
        stored = services.movement_stored_answer(
            actor=request.user, idempotency_key=key, request=movement_request, source=source
        )
        if stored is not None:
            answer = movement_answer_data(*stored, timezone.get_current_timezone())
            return Response(answer, status=status.HTTP_200_OK, headers=replay_headers(True))
        result = services.stock_move(
            actor=request.user, idempotency_key=key, request=movement_request, source=source
        )
        return Response(
            movement_result_data(result),
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
            headers=replay_headers(result.replayed),
        )


# Built once, as MOVEMENT_OUTPUT (its fields keep no state between calls).
MOVEMENT_INPUT = MovementInputSerializer()


def movement_answer_data(movement: dict, entries: list, zone) -> dict:
    """A movement read by ``selectors.stock_movement_answer_row`` and its entries (rows of
    ``STOCK_MOVEMENT_ENTRY_ROW``) as ``MovementOutputSerializer`` answers the movement
    (a test holds the two equal)."""
    codes = {
        movement["location_id"]: movement["location_code"],
        movement["to_location_id"]: movement["to_location_code"],
    }
    return {
        "id": movement["id"],
        "idempotency_key": movement["idempotency_key"],
        "type": movement["movement_type"],
        "material": movement["material_code"],
        "location": movement["location_code"],
        "to_location": movement["to_location_code"],
        "batch": movement["batch_number"],
        "quantity": quantity_text(movement["quantity"]),
        "reason": movement["reason"],
        "reference": movement["reference"],
        "source": movement["source"],
        "device_id": movement["device_id"],
        "note": movement["note"],
        "occurred_at": time_text(movement["occurred_at"], zone),
        "recorded_at": time_text(movement["recorded_at"], zone),
        "actor": movement["actor_name"],
        "reverses": movement["reverses_id"],
        "entries": [
            {
                "id": entry_id,
                "location": codes[entry_location],
                "quantity": quantity_text(entry_quantity),
                "balance_after": quantity_text(balance_after),
            }
            for entry_id, entry_location, entry_quantity, balance_after in entries
        ],
    }


class MovementBatchItemOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    idempotency_key = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "replayed", "error"])
    movement = MovementOutputSerializer(allow_null=True)
    error = serializers.DictField(allow_null=True)


class MovementBatchOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = MovementBatchItemOutputSerializer(many=True)


class MovementBatchApi(APIView):
    """Up to 500 movements, each with its own idempotency key and its own result.

    An item that is not even an object is reported in its place like any
    other bad item; only a request that is not a list of items is refused whole.
    """

    permission_classes = [MovementPermissions]
    queryset = StockMovement.objects.none()  # for the permission class

    class BatchInputSerializer(serializers.Serializer):
        items = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    @extend_schema(request=BatchInputSerializer, responses=MovementBatchOutputSerializer)
    def post(self, request):
        batch = self.BatchInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        raw_items = batch.validated_data["items"]
        if len(raw_items) > services.BATCH_LIMIT:
            raise ApplicationError(errors.BATCH_TOO_LARGE)
        # One serializer for all items: building one per item cost more than its write.
        item_serializer = MovementInputSerializer()
        items = [self._parse(item_serializer, raw) for raw in raw_items]
        results = services.stock_move_many(actor=request.user, items=items)
        movements = iter(movement_results_data([item.result for item in results if item.result]))
        body = {"created": 0, "replayed": 0, "failed": 0, "results": []}
        counter = {"created": "created", "replayed": "replayed", "error": "failed"}
        for item in results:
            body[counter[item.status]] += 1
            body["results"].append(
                {
                    "index": item.index,
                    "idempotency_key": item.idempotency_key,
                    "status": item.status,
                    "movement": next(movements) if item.result else None,
                    "error": item.error.payload() if item.error else None,
                }
            )
        return Response(body, status=status.HTTP_200_OK)

    @staticmethod
    def _parse(serializer: MovementInputSerializer, raw):
        key = raw.get("idempotency_key") if isinstance(raw, dict) else None
        key = key if isinstance(key, str) else None
        try:
            validated = serializer.run_validation(raw)
        except serializers.ValidationError as invalid:
            fields = {name: [str(msg) for msg in msgs] for name, msgs in invalid.detail.items()}
            return key, ApplicationError(API_VALIDATION, fields=fields), MovementSource.API
        movement_request, source = serializer.to_request(validated)
        return key, movement_request, source


class MovementReverseApi(APIView):
    """Undo a movement with a reversing one that points to it."""

    # Before the body is read: a caller who may not reverse gets 403, whatever they sent.
    permission_classes = [permission_required("inventory.reverse_stockmovement")]

    class ReverseInputSerializer(serializers.Serializer):
        reason = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        request=ReverseInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MovementOutputSerializer},
    )
    def post(self, request, movement_id: int):
        serializer = self.ReverseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.stock_movement_reverse(
            actor=request.user,
            movement_id=movement_id,
            idempotency_key=request.headers.get("Idempotency-Key"),
            reason=serializer.validated_data["reason"],
        )
        return Response(
            movement_result_data(result),
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
            headers=replay_headers(result.replayed),
        )
