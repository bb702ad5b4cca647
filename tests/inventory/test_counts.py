"""Counts: blind entry, cut-off with movements during the count, recount, approval, report."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.count_models import CountEvent, CountState, CountTask
from inventory.models import StockBalance, StockMovement
from inventory.services import MovementRequest, counts, stock_move
from mes.errors import ApplicationError


@pytest.fixture
def store(material, location, other_location, move, material_factory):
    """Bearings 100 in A-01 and 40 in A-02; oil seals (class A, cost 2.5) 30 in A-01."""
    material.abc_class, material.standard_cost = "B", Decimal("10")
    material.save()
    seal = material_factory(code="0200118", name="Oil seal", abc_class="A", standard_cost="2.5")
    move("receipt", material, location, 100)
    move("receipt", material, other_location, 40)
    move("receipt", seal, location, 30)
    return {"bearing": material, "seal": seal}


def on_hand(material, location):
    return StockBalance.objects.get(material=material, location=location, batch=None).on_hand


def lines_by(task):
    return {(line.material.code, line.location.code): line for line in task.lines.all()}


def create(actor, key="cnt-1", **scope):
    task, _replayed = counts.count_task_create(
        actor=actor,
        idempotency_key=key,
        title="Aisle A",
        scope=counts.CountScope(**scope),
        recount_threshold=Decimal(2),
    )
    return task


@pytest.mark.django_db
def test_a_count_at_a_cut_off_keeps_the_movements_made_during_it(
    store, location, other_location, move, user_with_role
):
    storekeeper, supervisor = user_with_role("storekeeper"), user_with_role("supervisor")
    task = create(storekeeper)
    assert task.lines.count() == 3
    bearing = lines_by(task)[("0200117", "WH1-A-01")]
    assert bearing.book_quantity == 100
    # The store keeps working: 30 issued after the cut-off, before anyone counts.
    move("issue", store["bearing"], location, 30, reference="WO-9")
    # The counter finds one piece missing of what lay there at the cut-off.
    quantities = {line.pk: line.book_quantity for line in task.lines.all()}
    quantities[bearing.pk] = Decimal(99)
    counts.count_lines_record(actor=storekeeper, task_id=task.pk, quantities=quantities)
    task, _ = counts.count_task_submit(actor=storekeeper, task_id=task.pk)
    assert task.state == CountState.REVIEW  # a difference of 1 is within the threshold of 2
    counts.count_task_approve(actor=supervisor, task_id=task.pk)
    # 100 at the cut-off, 99 counted, 30 issued since: 69, not 99 and not 70.
    assert on_hand(store["bearing"], location) == 69
    assert on_hand(store["bearing"], other_location) == 40
    movements = StockMovement.objects.filter(movement_type="count")
    assert movements.count() == 1  # only the line with a difference
    assert movements.get().entries.get().quantity == -1


@pytest.mark.django_db
def test_a_late_movement_dated_before_the_cut_off_changes_the_book(store, location, user_with_role):
    storekeeper, supervisor = user_with_role("storekeeper"), user_with_role("supervisor")
    task = create(storekeeper, materials=("0200117",), location="WH1-A-01")
    counts.count_lines_record(
        actor=storekeeper, task_id=task.pk, quantities={task.lines.get().pk: Decimal(105)}
    )
    # An offline handheld sends a receipt of 5 made before the cut-off.
    request = MovementRequest(
        "receipt",
        "0200117",
        "WH1-A-01",
        Decimal(5),
        occurred_at=task.cutoff_at - timezone.timedelta(minutes=5),
    )
    stock_move(actor=supervisor, idempotency_key="late-1", request=request)
    counts.count_task_submit(actor=storekeeper, task_id=task.pk)
    task.refresh_from_db()
    assert task.lines.get().book_quantity == 105
    counts.count_task_approve(actor=supervisor, task_id=task.pk)
    assert on_hand(store["bearing"], location) == 105
    assert not StockMovement.objects.filter(movement_type="count").exists()


@pytest.mark.django_db
def test_differences_above_the_threshold_are_recounted_then_approved(
    store, location, user_with_role
):
    storekeeper, supervisor = user_with_role("storekeeper"), user_with_role("supervisor")
    task = create(storekeeper)
    lines = lines_by(task)
    quantities = {line.pk: line.book_quantity for line in lines.values()}
    quantities[lines[("0200117", "WH1-A-01")].pk] = Decimal(90)  # 10 off: recount
    quantities[lines[("0200118", "WH1-A-01")].pk] = Decimal(29)  # 1 off: kept
    counts.count_lines_record(actor=storekeeper, task_id=task.pk, quantities=quantities)
    task, replayed = counts.count_task_submit(actor=storekeeper, task_id=task.pk)
    assert (task.state, replayed) == (CountState.RECOUNT, False)
    # A double click on "hand in" is a replay, not the recount's hand-in.
    task, replayed = counts.count_task_submit(actor=storekeeper, task_id=task.pk)
    assert (task.state, replayed) == (CountState.RECOUNT, True)
    assert [line.needs_recount for line in lines_by(task).values()].count(True) == 1
    with pytest.raises(ApplicationError) as missing:
        counts.count_task_submit(actor=storekeeper, task_id=task.pk, recount=True)
    assert missing.value.error.code == "CNT-004"
    with pytest.raises(ApplicationError) as early:
        counts.count_task_approve(actor=supervisor, task_id=task.pk)
    assert early.value.error.code == "CNT-002"
    bearing = lines_by(task)[("0200117", "WH1-A-01")]
    counts.count_lines_record(
        actor=storekeeper, task_id=task.pk, quantities={bearing.pk: Decimal(98)}
    )
    counts.count_task_submit(actor=storekeeper, task_id=task.pk, recount=True)
    task, _ = counts.count_task_approve(actor=supervisor, task_id=task.pk, note="ok")
    _task, replayed = counts.count_task_approve(actor=supervisor, task_id=task.pk)
    assert replayed
    assert task.state == CountState.APPROVED and task.approved_by == supervisor
    assert on_hand(store["bearing"], location) == 98  # the recount wins
    assert on_hand(store["seal"], location) == 29
    assert StockMovement.objects.filter(movement_type="count").count() == 2
    kinds = list(task.events.values_list("kind", flat=True))
    assert kinds[0] == CountEvent.Kind.CREATED and kinds[-1] == CountEvent.Kind.APPROVED
    assert CountEvent.Kind.RECOUNT in kinds


@pytest.mark.django_db
def test_a_storekeeper_counts_but_may_not_approve(store, user_with_role):
    storekeeper = user_with_role("storekeeper")
    task = create(storekeeper)
    counts.count_lines_record(
        actor=storekeeper,
        task_id=task.pk,
        quantities={line.pk: line.book_quantity for line in task.lines.all()},
    )
    counts.count_task_submit(actor=storekeeper, task_id=task.pk)
    with pytest.raises(ApplicationError) as refused:
        counts.count_task_approve(actor=storekeeper, task_id=task.pk)
    assert refused.value.error.code == "API-003"
    with pytest.raises(ApplicationError):
        counts.count_task_create(
            actor=user_with_role("worker"),
            idempotency_key="w",
            title="",
            scope=counts.CountScope(),
        )


@pytest.mark.django_db
def test_create_is_once_per_key_and_refuses_an_empty_scope(store, user_with_role):
    storekeeper = user_with_role("storekeeper")
    first = create(storekeeper, key="same")
    again = create(storekeeper, key="same")
    assert first.pk == again.pk and CountTask.objects.count() == 1
    with pytest.raises(ApplicationError) as empty:
        create(storekeeper, key="other", location="NOWHERE")
    assert empty.value.error.code == "CNT-003"
    assert CountTask.objects.count() == 1
    by_class = create(storekeeper, key="abc", abc_class="A")
    assert [line.material.code for line in by_class.lines.all()] == ["0200118"]


@pytest.mark.django_db
def test_a_scan_sets_the_line_and_found_goods_get_a_line(
    store, other_location, material_factory, user_with_role
):
    storekeeper = user_with_role("storekeeper")
    task = create(storekeeper, location="WH1-A-02")
    assert task.lines.count() == 1
    line = counts.count_line_scan(
        actor=storekeeper,
        task_id=task.pk,
        location="WH1-A-02",
        material="0200117",
        quantity=Decimal(41),
    )
    assert line.counted_quantity == 41
    found = counts.count_line_scan(
        actor=storekeeper,
        task_id=task.pk,
        location="WH1-A-02",
        material="0200118",
        quantity=Decimal(3),
    )
    assert (found.book_quantity, found.counted_quantity) == (0, 3)
    with pytest.raises(ApplicationError) as bad:
        counts.count_line_scan(
            actor=storekeeper,
            task_id=task.pk,
            location="WH1-A-02",
            material="0200117",
            quantity=Decimal(-1),
        )
    assert bad.value.error.code == "CNT-005"


# --- Pages -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_blind_count_page_hides_the_book_from_the_counter(client, store, user_with_role):
    storekeeper = user_with_role("storekeeper")
    client.force_login(storekeeper)
    response = client.post(
        reverse("inventory:counts"),
        {"idempotency_key": "web-1", "title": "Aisle A", "blind": "on", "recount_threshold": "0"},
    )
    task = CountTask.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "inventory:count", args=[task.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "Book at cut-off" not in page and 'name="line-' in page
    lines = lines_by(task)
    body = {f"line-{line.pk}": str(line.book_quantity) for line in lines.values()}
    body[f"line-{lines[('0200117', 'WH1-A-01')].pk}"] = "abc"
    refused = client.post(reverse("inventory:count_record", args=[task.pk]), {**body, "save": "1"})
    assert refused.status_code == 400 and "CNT-005" in refused.content.decode()
    assert not task.lines.filter(counted_quantity__isnull=False).exists()
    body[f"line-{lines[('0200117', 'WH1-A-01')].pk}"] = "100"
    done = client.post(reverse("inventory:count_record", args=[task.pk]), {**body, "submit": "1"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.state == CountState.REVIEW
    decide = reverse("inventory:count_decide", args=[task.pk])
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    client.force_login(user_with_role("supervisor"))
    review = client.get(reverse("inventory:count", args=[task.pk])).content.decode()
    assert "Book at cut-off" in review and "Accuracy %" in review
    assert client.post(decide, {"decision": "approve"}).status_code == 302
    task.refresh_from_db()
    assert task.state == CountState.APPROVED


@pytest.mark.django_db
def test_the_count_report_downloads_by_value_and_abc_class(client, store, user_with_role):
    storekeeper, supervisor = user_with_role("storekeeper"), user_with_role("supervisor")
    task = create(storekeeper)
    lines = lines_by(task)
    quantities = {line.pk: line.book_quantity for line in lines.values()}
    quantities[lines[("0200118", "WH1-A-01")].pk] = Decimal(28)  # -2 x 2.5 = -5
    counts.count_lines_record(actor=storekeeper, task_id=task.pk, quantities=quantities)
    client.force_login(supervisor)
    url = reverse("inventory:count_report", args=[task.pk])
    text = client.get(url + "?format=csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Location", "Material code", "Material name"]
    by_label = {row[0]: row for row in rows}
    assert by_label["Class A"][9] == "-5.0" or Decimal(by_label["Class A"][9]) == Decimal("-5")
    assert Decimal(by_label["Total"][10]) == Decimal("66.7")  # 2 of 3 lines exact
    xlsx = client.get(url + "?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    client.force_login(storekeeper)
    assert client.get(url + "?format=csv").status_code == 403
