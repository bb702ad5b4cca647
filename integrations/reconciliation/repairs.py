"""Repairs: what the policies let a run repair by itself, and a supervisor's decisions.

Repairs go through ``inventory.services`` as movements tagged *exception-recovered
data*, dated at the cut-off, with idempotency keys made of the run, the system
and the balance key - so re-running a night (after a crash, or twice) applies
nothing a second time. Where MES is right, a correction goes to the other
system through the outbox instead.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from integrations.models import Discrepancy, ReconciliationRun, RepairPolicy
from integrations.reconciliation.errors import RUN_NOT_FOUND
from inventory.models import Location, Material, MovementSource, StockBalance
from inventory.services import MovementRequest, stock_move
from mes.errors import ApplicationError
from mes.outbox import outbox_message_create
from mes.permissions import authorize

logger = logging.getLogger("integrations.reconciliation")

RECOVERED_REASON = "exception-recovered data"
REPAIRABLE = {
    Discrepancy.Kind.QUANTITY_MISMATCH,
    Discrepancy.Kind.MISSING_IN_MES,
    Discrepancy.Kind.MISSING_IN_ERP,
    Discrepancy.Kind.MISSING_IN_WMS,
}
# What the repairs of a run came to, counted per outcome for its summary.
REPAIR_OUTCOMES = ("applied", "pending", "outbound", "failed")


def _policy_for(policies: list[RepairPolicy], category: str, location_type: str):
    for policy in policies:
        if policy.category and policy.category != category:
            continue
        if policy.location_type and policy.location_type != location_type:
            continue
        return policy
    return None


def _within_limit(policy: RepairPolicy, discrepancy: Discrepancy) -> bool:
    size = abs(discrepancy.difference)
    if size > policy.auto_limit_quantity:
        return False
    truth = abs(discrepancy.other_quantity)
    if truth == 0:
        return policy.auto_limit_percent >= 100
    return size * 100 / truth <= policy.auto_limit_percent


def repair_key(run: ReconciliationRun, discrepancy: Discrepancy) -> str:
    """Same run, system and balance -> same key: a re-run of a crashed run (the
    same run re-opened) replays its repairs instead of applying them again."""
    return (
        f"recon:{run.pk}:{discrepancy.system}:{discrepancy.material_code}:"
        f"{discrepancy.batch}:{discrepancy.location}"
    )[:128]


def _pending_putaway_source(discrepancy: Discrepancy) -> str | None:
    """A pending put-away location that still holds the goods the other system
    already has in storage: the put-away scan was lost, not the goods."""
    if discrepancy.difference <= 0:
        return None
    batch_filter = (
        {"batch__number": discrepancy.batch} if discrepancy.batch else {"batch__isnull": True}
    )
    balance = (
        StockBalance.objects.filter(
            material__code=discrepancy.material_code,
            location__location_type=Location.Type.PENDING_PUTAWAY,
            on_hand__gte=discrepancy.difference,
            **batch_filter,
        )
        .exclude(location__code=discrepancy.location)
        .select_related("location")
        .order_by("location__code")
        .first()
    )
    return balance.location.code if balance else None


def _apply_repair(run: ReconciliationRun, discrepancy: Discrepancy, actor=None) -> None:
    """Repair our side: a lost put-away is recovered as that put-away, anything
    else as an adjustment; both dated at the cut-off and tagged."""
    common = {
        "material": discrepancy.material_code,
        "batch": discrepancy.batch or None,
        "reason": RECOVERED_REASON,
        "reference": f"reconciliation:{run.pk}:{discrepancy.pk}",
        "occurred_at": run.cutoff_at,
        "note": f"{discrepancy.system} {discrepancy.kind}",  # codes: same in any language
    }
    pending_location = _pending_putaway_source(discrepancy)
    if pending_location is not None:
        request = MovementRequest(
            movement_type="put_away",
            location=pending_location,
            to_location=discrepancy.location,
            quantity=discrepancy.difference,
            **common,
        )
    else:
        request = MovementRequest(
            movement_type="adjustment",
            location=discrepancy.location,
            quantity=discrepancy.difference,
            **common,
        )
    result = stock_move(
        actor=actor,
        idempotency_key=repair_key(run, discrepancy),
        request=request,
        source=MovementSource.RECONCILIATION,
    )
    discrepancy.repair = Discrepancy.Repair.APPLIED
    discrepancy.repair_movement_id = result.movement.pk
    discrepancy.save(update_fields=["repair", "repair_movement_id"])


def _send_correction(discrepancy: Discrepancy) -> None:
    """MES is right: tell the other system (through the outbox)."""
    with transaction.atomic():
        outbox_message_create(
            event_type=f"stock.correction.{discrepancy.system}",
            aggregate_key=f"material:{discrepancy.material_code}",
            payload={
                "material": discrepancy.material_code,
                "batch": discrepancy.batch or None,
                "location": discrepancy.location,
                "quantity": str(-discrepancy.difference),
                "mes_quantity": str(discrepancy.mes_quantity),
                "reason": RECOVERED_REASON,
            },
        )
        discrepancy.repair = Discrepancy.Repair.OUTBOUND
        discrepancy.save(update_fields=["repair"])


def repairs_apply(run: ReconciliationRun) -> dict[str, int]:
    """Apply the first matching policy (by priority) to each repairable difference of
    ``run`` at one of our locations; the count per outcome (:data:`REPAIR_OUTCOMES`)."""
    policies = list(RepairPolicy.objects.order_by("priority", "pk"))
    counts = dict.fromkeys(REPAIR_OUTCOMES, 0)
    if not policies:
        return counts
    candidates = Discrepancy.objects.filter(run=run, kind__in=REPAIRABLE, repair="none")
    categories = dict(
        Material.objects.filter(code__in=candidates.values("material_code")).values_list(
            "code", "category"
        )
    )
    location_types = dict(
        Location.objects.filter(code__in=candidates.values("location")).values_list(
            "code", "location_type"
        )
    )
    for discrepancy in candidates.order_by("pk").iterator():
        if discrepancy.location not in location_types:
            continue
        policy = _policy_for(
            policies,
            categories.get(discrepancy.material_code, ""),
            location_types[discrepancy.location],
        )
        if policy is None:
            continue
        outcome = _repair_by_policy(run, discrepancy, policy)
        if outcome is not None:
            counts[outcome] += 1
    return counts


def _repair_by_policy(
    run: ReconciliationRun, discrepancy: Discrepancy, policy: RepairPolicy
) -> str | None:
    """Do what ``policy`` says with one difference; the outcome, or None when the policy
    trusts a system other than the one this difference is with (left alone)."""
    if policy.source_of_truth == RepairPolicy.Truth.MES:
        _send_correction(discrepancy)
        return "outbound"
    if policy.source_of_truth != discrepancy.system:
        return None
    if not _within_limit(policy, discrepancy):
        discrepancy.repair = Discrepancy.Repair.PENDING
        discrepancy.save(update_fields=["repair"])
        return "pending"
    try:
        with transaction.atomic():
            _apply_repair(run, discrepancy)
    except ApplicationError as error:
        logger.warning(
            "repair of %s failed: %s",
            discrepancy.pk,
            error,
            extra={"error_code": error.code},
        )
        return "failed"
    return "applied"


def discrepancies_decide(*, actor, run_id: int, discrepancy_ids: list[int], approve: bool) -> int:
    """A supervisor approves (repairs now) or rejects differences beyond the limit."""
    authorize(actor, "integrations.change_discrepancy")
    run = ReconciliationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ApplicationError(RUN_NOT_FOUND)
    decided = 0
    for discrepancy_id in discrepancy_ids:
        with transaction.atomic():
            discrepancy = (
                Discrepancy.objects.select_for_update().filter(pk=discrepancy_id, run=run).first()
            )
            if discrepancy is None or discrepancy.repair != Discrepancy.Repair.PENDING:
                continue
            if approve:
                _apply_repair(run, discrepancy, actor=actor)
            else:
                discrepancy.repair = Discrepancy.Repair.REJECTED
            discrepancy.decided_by, discrepancy.decided_at = actor, timezone.now()
            discrepancy.save(update_fields=["repair", "decided_by", "decided_at"])
            decided += 1
    return decided
