"""The admin writes master data through ``inventory.services`` (one write path)."""

import pytest
from django.urls import reverse

from inventory import services
from inventory.models import Material


@pytest.mark.django_db
def test_the_admin_creates_changes_and_deletes_a_material_through_the_services(
    client, user_with_role, monkeypatch
):
    calls = []
    for action in ("create", "update", "delete"):
        real = getattr(services, f"material_{action}")
        monkeypatch.setattr(
            services,
            f"material_{action}",
            lambda *args, _real=real, _action=action, **kwargs: (
                calls.append(_action),
                _real(*args, **kwargs),
            )[1],
        )
    client.force_login(user_with_role("supervisor"))
    form = {"code": "0200117", "name": "Bracket", "unit": "pcs", "decimal_places": 0}
    form |= {"safety_stock": "0", "standard_cost": "0", "is_active": "on"}
    added = client.post(reverse("admin:inventory_material_add"), form)
    assert added.status_code == 302, added.content.decode()[:3000]
    material = Material.objects.get(code="0200117")  # leading zero kept
    changed = client.post(
        reverse("admin:inventory_material_change", args=[material.pk]), form | {"name": "Arm"}
    )
    assert changed.status_code == 302
    assert Material.objects.get(pk=material.pk).name == "Arm"
    deleted = client.post(
        reverse("admin:inventory_material_delete", args=[material.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Material.objects.filter(pk=material.pk).exists()
    assert calls == ["create", "update", "delete"]
