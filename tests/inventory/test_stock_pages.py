"""The storekeeper's stock forms, the movements page and the reversal button."""

from decimal import Decimal

import pytest
from django.urls import reverse

from drills.management.commands.export_drill_dataset import dataset
from inventory.models import StockBalance, StockLedgerEntry, StockMovement
from inventory.services import MovementRequest, stock_move

HTMX = {"HTTP_HX_REQUEST": "true"}


def action_url(movement_type):
    return reverse("inventory:stock_action", args=[movement_type])


def on_hand(material, location, batch=None):
    balance = StockBalance.objects.filter(
        material=material, location=location, batch__number=batch
    ).first()
    if batch is None:
        balance = StockBalance.objects.filter(
            material=material, location=location, batch__isnull=True
        ).first()
    return balance.on_hand if balance else Decimal(0)


def snapshot():
    return (
        StockMovement.objects.count(),
        StockLedgerEntry.objects.count(),
        sorted(StockBalance.objects.values_list("pk", "on_hand")),
    )


@pytest.fixture
def storekeeper(client, user_with_role):
    user = user_with_role("storekeeper")
    client.force_login(user)
    return client


@pytest.fixture
def stocked(material, location, move):
    move("receipt", material, location, 100)
    return material


GOOD = {
    "receipt": {
        "material": "0200117",
        "location": "WH1-A-01",
        "quantity": "5",
        "reference": "DN-7",
    },
    "transfer": {
        "material": "0200117",
        "location": "WH1-A-01",
        "to_location": "WH1-A-02",
        "quantity": "7",
    },
    "issue": {
        "material": "0200117",
        "location": "WH1-A-01",
        "quantity": "3",
        "reference": "CC-4100",
    },
    "return": {"material": "0200117", "location": "WH1-A-01", "quantity": "2", "reference": "WO-1"},
    "scrap": {"material": "0200117", "location": "WH1-A-01", "quantity": "1", "reason": "dropped"},
}
# Change of on hand at WH1-A-01 per action.
EFFECT = {"receipt": 5, "transfer": -7, "issue": -3, "return": 2, "scrap": -1}


@pytest.mark.django_db
@pytest.mark.parametrize("movement_type", sorted(GOOD))
def test_each_form_books_once_shows_the_balance_and_links_the_movement(
    storekeeper, stocked, location, other_location, movement_type
):
    body = {**GOOD[movement_type], "idempotency_key": f"web-{movement_type}-1"}
    response = storekeeper.post(action_url(movement_type), body, **HTMX)
    assert response.status_code == 200
    movement = StockMovement.objects.get(movement_type=movement_type, source="ui")
    html = response.content.decode()
    assert reverse("inventory:movement", args=[movement.pk]) in html
    assert f"{100 + EFFECT[movement_type]}" in html  # the balance after
    assert on_hand(stocked, location) == 100 + EFFECT[movement_type]
    # A double submit (same key in the form) is replayed, not booked again.
    again = storekeeper.post(action_url(movement_type), body, **HTMX)
    assert "already recorded" in again.content.decode()
    assert StockMovement.objects.filter(movement_type=movement_type, source="ui").count() == 1
    assert on_hand(stocked, location) == 100 + EFFECT[movement_type]


@pytest.mark.django_db
def test_a_receipt_with_a_new_batch_creates_it(storekeeper, material_factory, location):
    material_factory(code="G-1", is_batch_tracked=True)
    body = {"material": "G-1", "batch": "L77", "location": location.code, "quantity": "10"}
    response = storekeeper.post(action_url("receipt"), {**body, "idempotency_key": "k1"})
    assert response.status_code == 200
    assert StockMovement.objects.get().batch.number == "L77"


BAD = [
    ("unknown material", "issue", {"material": "NOPE"}, "INV-001"),
    ("unknown location", "receipt", {"location": "NOWHERE"}, "INV-002"),
    ("zero quantity", "receipt", {"quantity": "0"}, "INV-004"),
    ("too many decimals", "receipt", {"quantity": "1.5"}, "INV-005"),
    ("not enough stock", "issue", {"quantity": "1000"}, "INV-006"),
    ("same place", "transfer", {"to_location": "WH1-A-01"}, "INV-011"),
    ("scrap without reason", "scrap", {"reason": ""}, "API-001"),
    ("issue without reference", "issue", {"reference": ""}, "API-001"),
    ("text quantity", "receipt", {"quantity": "many"}, "API-001"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("movement_type", "change", "code"), [pytest.param(*case[1:], id=case[0]) for case in BAD]
)
def test_bad_input_shows_its_code_and_changes_nothing(
    storekeeper, stocked, other_location, movement_type, change, code
):
    before = snapshot()
    body = {**GOOD[movement_type], **change, "idempotency_key": "bad-1"}
    response = storekeeper.post(action_url(movement_type), body)
    assert response.status_code in {400, 409}
    assert code in response.content.decode()
    assert snapshot() == before
    # The same input through htmx: the form comes back with a 200 so htmx swaps it in.
    partial = storekeeper.post(action_url(movement_type), body, **HTMX)
    assert partial.status_code == 200 and code in partial.content.decode()


@pytest.mark.django_db
def test_the_scrap_service_needs_a_reason(stocked, location, user_with_role):
    request = MovementRequest("scrap", stocked.code, location.code, Decimal(1))
    with pytest.raises(Exception) as refused:
        stock_move(actor=user_with_role("storekeeper"), idempotency_key="s1", request=request)
    assert refused.value.error.code == "INV-021"


# --- Who may do what ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_storekeeper_may_not_adjust_nor_reverse(storekeeper, stocked, location):
    body = {"material": stocked.code, "location": location.code, "quantity": "-1", "reason": "x"}
    assert storekeeper.get(action_url("adjustment")).status_code == 403
    assert (
        storekeeper.post(action_url("adjustment"), {**body, "idempotency_key": "a"}).status_code
        == 403
    )
    movement = StockMovement.objects.get()
    page = storekeeper.get(reverse("inventory:movement", args=[movement.pk]))
    assert page.status_code == 200 and "movement_reverse" not in page.content.decode()
    reverse_url = reverse("inventory:movement_reverse", args=[movement.pk])
    assert storekeeper.post(reverse_url, {"idempotency_key": "r", "reason": "x"}).status_code == 403
    assert StockMovement.objects.count() == 1


@pytest.mark.django_db
def test_the_menu_offers_a_storekeeper_his_forms_only(storekeeper):
    page = storekeeper.get(action_url("receipt")).content.decode()
    for allowed in ("receipt", "transfer", "issue", "return", "scrap"):
        assert action_url(allowed) in page
    assert action_url("adjustment") not in page
    assert reverse("inventory:counts") in page  # the nav
    assert reverse("inventory:movements") in page


@pytest.mark.django_db
def test_a_worker_has_no_stock_forms(client, user_with_role):
    client.force_login(user_with_role("maintenance"))
    assert client.get(reverse("inventory:stock_actions")).status_code == 403
    assert client.get(action_url("receipt")).status_code == 403


@pytest.mark.django_db
def test_a_supervisor_adjusts_with_a_signed_quantity(client, user_with_role, stocked, location):
    client.force_login(user_with_role("supervisor"))
    body = {
        "material": stocked.code,
        "location": location.code,
        "quantity": "-4",
        "reason": "found broken",
    }
    response = client.post(action_url("adjustment"), {**body, "idempotency_key": "adj-1"})
    assert response.status_code == 200
    assert on_hand(stocked, location) == 96


# --- Reversal ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_supervisor_reverses_a_movement_once_with_a_reason(
    client, user_with_role, stocked, location
):
    client.force_login(user_with_role("supervisor"))
    movement = StockMovement.objects.get()
    url = reverse("inventory:movement_reverse", args=[movement.pk])
    page = client.get(reverse("inventory:movement", args=[movement.pk])).content.decode()
    assert url in page
    refused = client.post(url, {"idempotency_key": "rev-1", "reason": ""})
    assert refused.status_code == 400 and StockMovement.objects.count() == 1
    done = client.post(url, {"idempotency_key": "rev-1", "reason": "wrong material"})
    assert done.status_code == 302
    again = client.post(url, {"idempotency_key": "rev-1", "reason": "wrong material"})
    assert again.status_code == 302 and again["Location"] == done["Location"]
    assert StockMovement.objects.count() == 2
    assert on_hand(stocked, location) == 0
    other_key = client.post(url, {"idempotency_key": "rev-2", "reason": "again"})
    assert other_key.status_code == 409 and "INV-013" in other_key.content.decode()


# --- Movements page and the recovered-data tag -------------------------------------------------
@pytest.mark.django_db
def test_recovered_movements_are_tagged_and_filterable(
    storekeeper, stocked, location, other_location
):
    request = MovementRequest(
        "adjustment",
        stocked.code,
        other_location.code,
        Decimal(3),
        reason="exception-recovered data",
    )
    stock_move(actor=None, idempotency_key="recon:1", request=request, source="reconciliation")
    url = reverse("inventory:movements")
    everything = storekeeper.get(url).content.decode()
    assert everything.count('class="tag recovered"') == 1
    only = storekeeper.get(url + "?recovered=1", **HTMX).content.decode()
    assert only.count("<tr>") == 2  # the header and the one row
    history = storekeeper.get(reverse("inventory:material", args=[stocked.code])).content.decode()
    assert 'class="tag recovered"' in history
    export = storekeeper.get(url + "?recovered=1&format=csv").content.decode("utf-8-sig")
    assert "Exception-recovered data" in export.splitlines()[1]


@pytest.mark.django_db
def test_the_movements_page_reads_a_fixed_number_of_queries(
    storekeeper, stocked, location, move, django_assert_max_num_queries
):
    for _ in range(20):
        move("issue", stocked, location, 1)
    with django_assert_max_num_queries(12):
        assert storekeeper.get(reverse("inventory:movements")).status_code == 200


@pytest.mark.django_db
def test_the_anonymised_export_keeps_the_recovered_tag(stocked, other_location):
    request = MovementRequest(
        "adjustment",
        stocked.code,
        other_location.code,
        Decimal(3),
        reason="exception-recovered data",
    )
    stock_move(actor=None, idempotency_key="recon:2", request=request, source="reconciliation")
    records = [
        record for record in dataset(anonymize=True) if record["model"] == "inventory.stockmovement"
    ]
    assert [record["fields"]["source"] for record in records] == ["api", "reconciliation"]
    restored = StockMovement(source=records[1]["fields"]["source"])
    assert restored.is_recovered
