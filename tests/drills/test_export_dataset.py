import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from integrations.masterdata.models import MasterDataUpload
from inventory.models import Location, Material, StockMovement
from inventory.services import MovementRequest, stock_move


@pytest.mark.django_db
def test_anonymized_export_replaces_people_and_text_and_keeps_quantities(tmp_path):
    user = User.objects.create_user(
        "wang.fang", email="wang.fang@plant.example", first_name="Fang", last_name="Wang"
    )
    user.set_password("secret-pass")
    user.save()
    Material.objects.create(code="M-100", name="Brake disc 280mm", specification="Cast iron")
    Location.objects.create(code="RM-01", name="Raw store")
    stock_move(
        actor=None,
        idempotency_key="export-1",
        request=MovementRequest("receipt", "M-100", "RM-01", Decimal("12"), note="Shift A"),
    )
    output = tmp_path / "dataset.json"

    call_command("export_drill_dataset", "--anonymize", "--output", str(output))
    call_command("export_drill_dataset", "--anonymize", "--output", str(tmp_path / "again.json"))

    text = output.read_text(encoding="utf-8")
    assert text == (tmp_path / "again.json").read_text(encoding="utf-8")  # deterministic
    for secret in ("wang.fang", "Fang", "Brake disc", "Cast iron", "Raw store", "Shift A"):
        assert secret not in text
    assert "pbkdf2" not in text
    records = json.loads(text)
    by_model: dict[str, list[dict]] = {}
    for record in records:
        by_model.setdefault(record["model"], []).append(record)
    material = next(r for r in by_model["inventory.material"] if r["fields"]["code"] == "M-100")
    assert material["fields"]["name"].startswith("material.name-")
    [movement] = by_model["inventory.stockmovement"]
    stored = StockMovement.objects.get()
    assert Decimal(movement["fields"]["quantity"]) == stored.quantity == Decimal("12")
    assert movement["fields"]["material"] == stored.material_id
    assert any(r["fields"]["quantity"] for r in by_model["inventory.stockledgerentry"])
    [exported_user] = [r for r in by_model["auth.user"] if r["pk"] == user.pk]
    assert exported_user["fields"]["password"] == "!"
    assert exported_user["fields"]["email"].endswith("@example.invalid")


@pytest.mark.django_db
def test_the_export_leaves_out_raw_master_data_uploads(tmp_path):
    MasterDataUpload.objects.create(
        kind="materials", filename="物料.csv", sha256="0" * 64, data=b"code,name\nM-1,Secret name"
    )
    output = tmp_path / "dataset.json"

    call_command("export_drill_dataset", "--anonymize", "--output", str(output))

    text = output.read_text(encoding="utf-8")
    assert "integrations.masterdataupload" not in text
    assert "Secret name" not in text
