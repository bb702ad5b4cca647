"""Stock counts: create a task at a cut-off, count (blind), recount, approve.

A task's book quantities are the ledger's sums up to its cut-off (by when
movements occurred), refreshed when the count is submitted and approved, so
an offline device that sends a movement made before the cut-off later is
still counted against the right book. The store keeps working meanwhile:
on approval each difference (counted minus book at the cut-off) is booked
by one ``count`` movement through :func:`stock_move`, whose counted quantity
includes what moved after the cut-off. Every change is a
:class:`~inventory.models.CountEvent` with who and why; the allowed moves are
the table :data:`COUNT_TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from inventory import count_errors, errors
from inventory.count_models import CountEvent, CountLine, CountState, CountTask
from inventory.models import Material, MovementSource, StockBalance, StockLedgerEntry
from inventory.services.ledger import balances_lock
from inventory.services.movements import stock_move
from inventory.services.validation import (
    MAX_QUANTITY,
    MovementRequest,
    movement_resolve,
    quantity_validate,
)
from mes.errors import API_IDEMPOTENCY_KEY_CONFLICT, ApplicationError
from mes.idempotency import idempotency_key_clean, idempotent_write, key_scope, request_fingerprint
from mes.permissions import authorize

MAX_LINES = 2000
CREATE_PERMISSION = "inventory.add_counttask"
ENTER_PERMISSION = "inventory.enter_count"
APPROVE_PERMISSION = "inventory.approve_count"


@dataclass(frozen=True)
class CountTransition:
    sources: frozenset[str]
    permission: str
    event: str


# The moves of a count task; the target of "submit" depends on the differences found.
COUNT_TRANSITIONS: dict[str, CountTransition] = {
    "submit": CountTransition(
        frozenset({CountState.COUNTING}), ENTER_PERMISSION, CountEvent.Kind.SUBMITTED
    ),
    "submit_recount": CountTransition(
        frozenset({CountState.RECOUNT}), ENTER_PERMISSION, CountEvent.Kind.SUBMITTED
    ),
    "approve": CountTransition(
        frozenset({CountState.REVIEW}), APPROVE_PERMISSION, CountEvent.Kind.APPROVED
    ),
    "cancel": CountTransition(
        frozenset({CountState.COUNTING, CountState.RECOUNT, CountState.REVIEW}),
        APPROVE_PERMISSION,
        CountEvent.Kind.CANCELLED,
    ),
}


@dataclass(frozen=True)
class CountScope:
    """What to count: a location and what lies under it, materials, an ABC class."""

    location: str = ""
    materials: tuple[str, ...] = ()
    abc_class: str = ""

    def describe(self) -> str:
        parts = [self.location, ",".join(self.materials), self.abc_class]
        return " / ".join(part for part in parts if part)[:300]


def _scoped_balances(scope: CountScope):
    balances = StockBalance.objects.all()
    if scope.location:
        balances = balances.filter(
            Q(location__code=scope.location)
            | Q(location__parent__code=scope.location)
            | Q(location__parent__parent__code=scope.location)
        )
    if scope.materials:
        balances = balances.filter(material__code__in=scope.materials)
    if scope.abc_class:
        balances = balances.filter(material__abc_class=scope.abc_class)
    return balances.filter(material__is_active=True, location__is_active=True)


def book_at_cutoff(keys: Iterable[tuple[int, int, int | None]], cutoff) -> dict[tuple, Decimal]:
    """Ledger sums up to ``cutoff`` for each (material, location, batch) key, in one query."""
    keys = list(keys)
    if not keys:
        return {}
    rows = (
        StockLedgerEntry.objects.filter(
            material_id__in={key[0] for key in keys},
            location_id__in={key[1] for key in keys},
            occurred_at__lte=cutoff,
        )
        .values("material_id", "location_id", "batch_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    wanted = set(keys)
    sums = {}
    for row in rows:
        key = (row["material_id"], row["location_id"], row["batch_id"])
        if key in wanted:
            sums[key] = Decimal(row["total"]).quantize(Decimal("0.000001"))
    return {key: sums.get(key, Decimal(0)) for key in keys}


def _event(task: CountTask, kind: str, actor, from_state: str, note: str = "") -> None:
    CountEvent.objects.create(
        task=task, kind=kind, actor=actor, from_state=from_state, to_state=task.state, note=note
    )


def count_task_create(
    *,
    actor,
    idempotency_key: str,
    title: str,
    scope: CountScope,
    blind: bool = True,
    recount_threshold: Decimal = Decimal(0),
) -> tuple[CountTask, bool]:
    """A count task with one line per balance in scope, its book taken at now as cut-off.

    Once per actor and key (a double submit returns the first task). Refused
    with ``CNT-003`` when nothing is in scope, ``CNT-007`` past :data:`MAX_LINES`.
    """
    authorize(actor, CREATE_PERMISSION)
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(
        {"title": title, "scope": scope.describe(), "blind": blind, "t": recount_threshold}
    )
    return idempotent_write(
        model=CountTask,
        key=key,
        fingerprint=fingerprint,
        write=lambda: _task_write(actor, key, fingerprint, title, scope, blind, recount_threshold),
        replay=lambda task: task,
        scope=key_scope(actor, owner="created_by"),
    )


def _task_write(actor, key, fingerprint, title, scope, blind, threshold) -> CountTask:
    if threshold < 0 or threshold > MAX_QUANTITY:
        raise ApplicationError(
            count_errors.COUNT_BAD_QUANTITY,
            fields={"recount_threshold": [str(count_errors.COUNT_BAD_QUANTITY.message)]},
        )
    cutoff = timezone.now()
    keys = list(_scoped_balances(scope).values_list("material_id", "location_id", "batch_id"))
    books = book_at_cutoff(keys, cutoff)
    on_hand = dict(
        (
            ((m, loc, b), qty)
            for m, loc, b, qty in _scoped_balances(scope).values_list(
                "material_id", "location_id", "batch_id", "on_hand"
            )
        )
    )
    keys = [key for key in keys if books[key] != 0 or on_hand.get(key, 0) != 0]
    if not keys:
        raise ApplicationError(count_errors.COUNT_EMPTY)
    if len(keys) > MAX_LINES:
        raise ApplicationError(count_errors.COUNT_TOO_LARGE)
    task = CountTask.objects.create(
        idempotency_key=key,
        request_fingerprint=fingerprint,
        title=title.strip()[:200] or scope.describe() or "-",
        blind=blind,
        cutoff_at=cutoff,
        recount_threshold=threshold,
        scope=scope.describe(),
        created_by=actor,
    )
    CountLine.objects.bulk_create(
        CountLine(
            task=task, material_id=m, location_id=loc, batch_id=b, book_quantity=books[(m, loc, b)]
        )
        for m, loc, b in sorted(keys, key=lambda k: (k[1], k[0], k[2] or 0))
    )
    _event(task, CountEvent.Kind.CREATED, actor, "", note=f"{len(keys)}")
    return task


def _locked_task(task_id: int) -> CountTask:
    task = CountTask.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise ApplicationError(count_errors.COUNT_NOT_FOUND)
    return task


def parse_count_quantity(text: str, material: Material, field_name: str) -> Decimal | None:
    """A counted quantity typed on a page: blank is "not counted yet"; else >= 0, in the unit."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        quantity = Decimal(-1)
    if not quantity.is_finite() or quantity < 0:
        raise ApplicationError(
            count_errors.COUNT_BAD_QUANTITY,
            fields={field_name: [str(count_errors.COUNT_BAD_QUANTITY.message)]},
        )
    try:
        quantity_validate("count", quantity, material)
    except ApplicationError as exc:
        raise ApplicationError(exc.error, fields={field_name: exc.fields["quantity"]}) from exc
    return quantity


@transaction.atomic
def count_lines_record(
    *, actor, task_id: int, quantities: dict[int, Decimal | None], note: str = ""
) -> int:
    """Record counted quantities by line id (a recount while the task is in recount).

    A ``None`` leaves a line as it was. Returns how many lines changed; only
    lines of this task that are still to count (or to recount) are written.
    A ``note`` (a handheld's action key) is recorded even when nothing changed.
    """
    authorize(actor, ENTER_PERMISSION)
    task = _locked_task(task_id)
    if task.state not in {CountState.COUNTING, CountState.RECOUNT}:
        raise ApplicationError(count_errors.COUNT_WRONG_STATE)
    recount = task.state == CountState.RECOUNT
    lines = task.lines.filter(pk__in=[pk for pk, qty in quantities.items() if qty is not None])
    if recount:
        lines = lines.filter(needs_recount=True)
    now, changed = timezone.now(), []
    for line in lines:
        field = "recount_quantity" if recount else "counted_quantity"
        if getattr(line, field) != quantities[line.pk]:
            setattr(line, field, quantities[line.pk])
            line.counted_by, line.counted_at = actor, now
            changed.append(line)
    CountLine.objects.bulk_update(
        changed, ["counted_quantity", "recount_quantity", "counted_by", "counted_at"]
    )
    if changed or note:
        _event(task, CountEvent.Kind.COUNTED, actor, task.state, note=note or f"{len(changed)}")
    return len(changed)


def count_line_scan(
    *,
    actor,
    task_id: int,
    location: str,
    material: str,
    batch: str = "",
    quantity: Decimal,
    note: str = "",
) -> CountLine:
    """A handheld's count of one item at one place: sets its line's (re)count.

    Goods found where the book has none get a line of their own (book 0 at
    the cut-off, or what the ledger says).
    """
    with transaction.atomic():  # the found line and its count: both or neither
        authorize(actor, ENTER_PERMISSION)
        task = _locked_task(task_id)
        if task.state not in {CountState.COUNTING, CountState.RECOUNT}:
            raise ApplicationError(count_errors.COUNT_WRONG_STATE)
        line = _line_for_codes(task, location, material, batch)
        parse_count_quantity(str(quantity), line.material, "quantity")
        count_lines_record(actor=actor, task_id=task_id, quantities={line.pk: quantity}, note=note)
    line.refresh_from_db()
    return line


KEYED_NOTE = "key "  # a keyed count's event note: "key <idempotency key> <fingerprint>"


def count_line_scan_once(
    *,
    actor,
    idempotency_key: str,
    task_id: int,
    location: str,
    material: str,
    batch: str = "",
    quantity: Decimal,
) -> tuple[CountLine, bool]:
    """:func:`count_line_scan` once per key and person (a handheld's queued count sent
    again changes nothing, even after a later count of the same line); ``(line, replayed)``.

    The key is kept in the task's "counted" event, looked up under the task's lock.
    """
    authorize(actor, ENTER_PERMISSION)  # before anything the count names
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(
        {
            "task": task_id,
            "location": location,
            "material": material,
            "batch": batch,
            "quantity": quantity,
        }
    )
    with transaction.atomic():
        task = _locked_task(task_id)
        done = (
            task.events.filter(kind=CountEvent.Kind.COUNTED, actor=actor)
            .filter(note__startswith=f"{KEYED_NOTE}{key} ")
            .first()
        )
        if done is None:
            line = count_line_scan(
                actor=actor,
                task_id=task_id,
                location=location,
                material=material,
                batch=batch,
                quantity=quantity,
                note=f"{KEYED_NOTE}{key} {fingerprint}",
            )
            return line, False
        if not done.note.endswith(f" {fingerprint}"):
            raise ApplicationError(API_IDEMPOTENCY_KEY_CONFLICT, extra={"idempotency_key": key})
        return _line_for_codes(task, location, material, batch), True


def _line_for_codes(task: CountTask, location: str, material: str, batch: str) -> CountLine:
    lookup = {"location__code": location, "material__code": material}
    lookup.update({"batch__number": batch} if batch else {"batch__isnull": True})
    line = task.lines.select_related("material").filter(**lookup).first()
    if line is not None:
        return line
    if task.state != CountState.COUNTING:
        raise ApplicationError(count_errors.COUNT_WRONG_STATE)
    request = MovementRequest("count", material, location, Decimal(0), batch=batch or None)
    resolved = _resolve_for_count(request)
    key = (
        resolved.material.pk,
        resolved.location.pk,
        resolved.batch.pk if resolved.batch else None,
    )
    book = book_at_cutoff([key], task.cutoff_at)[key]
    return CountLine.objects.create(
        task=task,
        material=resolved.material,
        location=resolved.location,
        batch=resolved.batch,
        book_quantity=book,
    )


def _resolve_for_count(request: MovementRequest):
    """The rows a scanned count names; a batch must already be known."""
    resolved = movement_resolve(request)
    if resolved.batch is None and resolved.batch_number:
        raise ApplicationError(
            errors.UNKNOWN_BATCH, fields={"batch": [str(errors.UNKNOWN_BATCH.message)]}
        )
    return resolved


# --- Submit, approve, cancel ------------------------------------------------------------
def _books_refresh(task: CountTask) -> list[CountLine]:
    """Lines with their book at the cut-off read again (late movements dated before it)."""
    lines = list(task.lines.select_related("material", "location", "batch"))
    books = book_at_cutoff(
        [(line.material_id, line.location_id, line.batch_id) for line in lines], task.cutoff_at
    )
    changed = []
    for line in lines:
        book = books[(line.material_id, line.location_id, line.batch_id)]
        if book != line.book_quantity:
            line.book_quantity = book
            changed.append(line)
    CountLine.objects.bulk_update(changed, ["book_quantity"])
    return lines


def _transition_start(actor, task_id: int, name: str) -> tuple[CountTask, bool]:
    """Lock the task and judge the move; ``(task, True)`` when it is a repeat of the last one."""
    transition = COUNT_TRANSITIONS[name]
    authorize(actor, transition.permission)
    task = _locked_task(task_id)
    if task.state not in transition.sources:
        last = task.events.order_by("-at", "-pk").first()
        if last is not None and last.kind == transition.event and last.actor_id == actor.pk:
            return task, True  # a double submit: the first one did it
        raise ApplicationError(count_errors.COUNT_WRONG_STATE, extra={"state": task.state})
    return task, False


@transaction.atomic
def count_task_submit(*, actor, task_id: int, recount: bool = False) -> tuple[CountTask, bool]:
    """Counting -> recount (differences above the threshold) or review; recount -> review.

    ``recount`` says which of the two the caller's form submitted, so a double
    click is a replay, not a second step. Every line must be counted; from
    counting, the lines whose difference exceeds the task's threshold are
    marked and the task goes to recount.
    """
    name = "submit_recount" if recount else "submit"
    task, replayed = _transition_start(actor, task_id, name)
    if replayed:
        return task, True
    lines = _books_refresh(task)
    from_state = task.state
    if from_state == CountState.COUNTING:
        if any(line.counted_quantity is None for line in lines):
            raise ApplicationError(count_errors.COUNT_LINES_MISSING)
        to_recount = [line for line in lines if abs(line.difference) > task.recount_threshold]
        for line in to_recount:
            line.needs_recount = True
        CountLine.objects.bulk_update(to_recount, ["needs_recount"])
        task.state = CountState.RECOUNT if to_recount else CountState.REVIEW
    else:
        if any(line.needs_recount and line.recount_quantity is None for line in lines):
            raise ApplicationError(count_errors.COUNT_LINES_MISSING)
        task.state = CountState.REVIEW
    task.save(update_fields=["state"])
    kind = (
        CountEvent.Kind.RECOUNT if task.state == CountState.RECOUNT else CountEvent.Kind.SUBMITTED
    )
    _event(task, kind, actor, from_state)
    if kind == CountEvent.Kind.RECOUNT:
        # The event the double-submit check looks for is the submit itself.
        _event(task, CountEvent.Kind.SUBMITTED, actor, from_state)
    return task, False


@transaction.atomic
def count_task_approve(*, actor, task_id: int, note: str = "") -> tuple[CountTask, bool]:
    """Review -> approved: one ``count`` movement per line with a difference.

    The difference is counted minus book at the cut-off; the movement's
    counted quantity is the count plus what moved since the cut-off, read
    under the balance's lock, so work done during the count is kept. Keys are
    the task's and the line's: a crash and a second approval apply nothing twice.
    """
    task, replayed = _transition_start(actor, task_id, "approve")
    if replayed:
        return task, True
    for line in _books_refresh(task):
        if line.difference:
            line.movement = _count_movement(actor, task, line)
            line.save(update_fields=["movement"])
    from_state = task.state
    task.state, task.approved_by, task.approved_at = CountState.APPROVED, actor, timezone.now()
    task.save(update_fields=["state", "approved_by", "approved_at"])
    _event(task, CountEvent.Kind.APPROVED, actor, from_state, note=note[:300])
    return task, False


def _count_movement(actor, task: CountTask, line: CountLine):
    balance = balances_lock(line.material, line.batch, [line.location_id])[line.location_id]
    counted_now = line.final_quantity + (balance.on_hand - line.book_quantity)
    if counted_now < 0:
        raise ApplicationError(
            count_errors.COUNT_NEGATIVE_RESULT,
            extra={"material": line.material.code, "location": line.location.code},
        )
    request = MovementRequest(
        movement_type="count",
        material=line.material.code,
        location=line.location.code,
        batch=line.batch.number if line.batch else None,
        quantity=counted_now,
        reason=f"count CNT-{task.pk}",
        reference=f"CNT-{task.pk}",
    )
    result = stock_move(
        actor=actor,
        idempotency_key=f"count-{task.pk}-{line.pk}",
        request=request,
        source=MovementSource.UI,
    )
    return result.movement


@transaction.atomic
def count_task_cancel(*, actor, task_id: int, reason: str = "") -> tuple[CountTask, bool]:
    """Stop a count that is not approved; nothing is booked."""
    task, replayed = _transition_start(actor, task_id, "cancel")
    if replayed:
        return task, True
    from_state = task.state
    task.state = CountState.CANCELLED
    task.save(update_fields=["state"])
    _event(task, CountEvent.Kind.CANCELLED, actor, from_state, note=reason[:300])
    return task, False
