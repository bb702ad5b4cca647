"""Stock movements honour temporary grants as well as roles (``mes.permissions.authorize``)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import StockMovement
from inventory.services import MovementRequest, stock_move
from mes.errors import ApplicationError
from workorders.services import temporary_grant_create, temporary_grant_revoke


@pytest.mark.django_db
def test_a_put_away_under_a_grant_succeeds_and_after_its_revocation_is_refused(
    user_with_role, material, location, pending_location, move
):
    supervisor = user_with_role("supervisor")
    # Maintenance works on the floor but may not move stock by role.
    fitter = user_with_role("maintenance")
    assert not fitter.has_perm("inventory.put_away_stock")
    move("completion", material, pending_location, 5)
    put_away = MovementRequest(
        movement_type="put_away",
        material=material.code,
        location=pending_location.code,
        quantity=Decimal(2),
        to_location=location.code,
    )
    now = timezone.now()
    grant = temporary_grant_create(
        actor=supervisor,
        user=fitter,
        permissions=["inventory.put_away_stock"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="covering the stores during the night shift",
    )

    result = stock_move(actor=fitter, idempotency_key="put-away-1", request=put_away)
    assert not result.replayed
    assert result.movement.actor == fitter
    assert [entry.quantity for entry in result.entries] == [Decimal(-2), Decimal(2)]

    temporary_grant_revoke(actor=supervisor, grant_id=grant.pk)
    movements = StockMovement.objects.count()
    with pytest.raises(ApplicationError) as refused:
        stock_move(actor=fitter, idempotency_key="put-away-2", request=put_away)
    assert refused.value.code == "API-003"
    assert StockMovement.objects.count() == movements
