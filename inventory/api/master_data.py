"""Materials, locations and batches: the serializers check the input, the services write it."""

from __future__ import annotations

from rest_framework import serializers, viewsets
from rest_framework.parsers import JSONParser

from inventory import services
from inventory.models import Batch, Location, Material
from mes.fields import StrictCharField, StrictModelSerializer
from mes.permissions import ModelPermissions


# The serializers check the input; the services write it, the same way as the
# master data other systems send (``inventory.services.master_data``).
class MaterialSerializer(StrictModelSerializer):
    code = StrictCharField(max_length=64, trim_whitespace=False)
    # The model's check constraint, as a field error (DRF does not run it).
    safety_stock = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=0, required=False
    )

    class Meta:
        model = Material
        fields = [
            "id",
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
        ]

    def validate_code(self, value):
        queryset = Material.objects.filter(code=value)
        if self.instance is not None:
            queryset = queryset.exclude(pk=self.instance.pk)
        if queryset.exists():
            raise serializers.ValidationError("A material with this code exists.")
        return value


class LocationSerializer(StrictModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Location
        fields = ["id", "code", "name", "parent", "level", "location_type", "is_active"]


class BatchSerializer(StrictModelSerializer):
    material = serializers.SlugRelatedField(slug_field="code", queryset=Material.objects.all())

    class Meta:
        model = Batch
        fields = ["id", "material", "number", "production_date", "expiry_date", "supplier_lot"]
        validators = [
            serializers.UniqueTogetherValidator(
                queryset=Batch.objects.all(), fields=["material", "number"]
            )
        ]


class MaterialViewSet(viewsets.ModelViewSet):
    queryset = Material.objects.all()
    serializer_class = MaterialSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [JSONParser]  # master data is JSON (a form body could not be checked)
    filterset_fields = ["category", "is_batch_tracked", "is_active", "unit"]
    search_fields = ["code", "name", "specification"]
    ordering_fields = ["code", "name", "category"]

    def perform_create(self, serializer):
        serializer.instance = services.material_create(
            actor=self.request.user, fields=serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.material_update(
            actor=self.request.user, material=serializer.instance, fields=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.material_delete(actor=self.request.user, material=instance)


class LocationViewSet(viewsets.ModelViewSet):
    queryset = Location.objects.select_related("parent")
    serializer_class = LocationSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [JSONParser]
    filterset_fields = ["location_type", "level", "is_active", "parent__code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name"]

    def perform_create(self, serializer):
        serializer.instance = services.location_create(
            actor=self.request.user, fields=serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.location_update(
            actor=self.request.user, location=serializer.instance, fields=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.location_delete(actor=self.request.user, location=instance)


class BatchViewSet(viewsets.ModelViewSet):
    queryset = Batch.objects.select_related("material")
    serializer_class = BatchSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [JSONParser]
    filterset_fields = ["material__code", "number"]
    search_fields = ["number", "supplier_lot", "material__code"]
    ordering_fields = ["number", "expiry_date"]

    def perform_create(self, serializer):
        serializer.instance = services.batch_create(
            actor=self.request.user, fields=serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.batch_update(
            actor=self.request.user, batch=serializer.instance, fields=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.batch_delete(actor=self.request.user, batch=instance)
