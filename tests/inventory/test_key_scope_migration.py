"""Keys per actor: rows written before the change stay valid and keep replaying.

A movement stored under the old single-column unique key still replays for
the one who sent it; someone else's same key is now a new movement; and a
recovery claim made before (no actor recorded) keeps answering its key for
anyone, so a scanner that replays days later moves nothing twice.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from inventory.models import StockMovement, StockRecoveryClaim
from inventory.services import MovementRequest, stock_move
from inventory.services.ledger import movement_fingerprint
from mes.errors import ApplicationError
from tests.factories import UserFactory

BEFORE = [("inventory", "0003_stock_recovery_claim"), ("workorders", "0003_floor_device")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_from_before_keep_replaying_for_their_sender_only():
    storekeeper = UserFactory(roles=["storekeeper"])
    supervisor = UserFactory(roles=["supervisor"])
    old = _migrate(BEFORE)
    now = timezone.now()
    material = old.get_model("inventory", "Material").objects.create(code="M-OLD", name="Old")
    store = old.get_model("inventory", "Location").objects.create(code="S-OLD", name="Store")
    request = MovementRequest("receipt", "M-OLD", "S-OLD", Decimal(2))
    movements = old.get_model("inventory", "StockMovement")
    first = movements.objects.create(
        idempotency_key="old-key",
        request_fingerprint=movement_fingerprint(request, "api"),
        movement_type="receipt",
        material_id=material.pk,
        location_id=store.pk,
        quantity=Decimal(2),
        source="api",
        occurred_at=now,
        actor_id=storekeeper.pk,
    )
    recovery = movements.objects.create(
        idempotency_key="recon:1:wms:M-OLD::S-OLD",
        request_fingerprint="x",
        movement_type="put_away",
        material_id=material.pk,
        location_id=store.pk,
        to_location_id=store.pk,
        quantity=Decimal(1),
        source="reconciliation",
        occurred_at=now,
    )
    old.get_model("inventory", "StockRecoveryClaim").objects.create(
        recovery_id=recovery.pk, idempotency_key="late-scan", request_fingerprint="late"
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    replay = stock_move(actor=storekeeper, idempotency_key="old-key", request=request)
    assert replay.replayed and replay.movement.pk == first.pk
    other = stock_move(actor=supervisor, idempotency_key="old-key", request=request)
    assert not other.replayed
    assert StockMovement.objects.filter(idempotency_key="old-key").count() == 2
    claim = StockRecoveryClaim.objects.get(idempotency_key="late-scan")
    assert claim.unscoped and claim.actor is None
    # The old claim still answers its key, whoever sends it: another payload is a
    # conflict, never a second put-away.
    late = MovementRequest("put_away", "M-OLD", "S-OLD", Decimal(1), to_location="S-OLD")
    with pytest.raises(ApplicationError) as conflict:
        stock_move(actor=supervisor, idempotency_key="late-scan", request=late)
    assert conflict.value.code == "API-011"
