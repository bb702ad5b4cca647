"""Demo users, one per role, for `make run` and for trying the system out."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from mes.roles import ADMIN_ROLES, Role

DEMO_PASSWORD = "mes-demo"  # printed by `make run`; for a local demo only
DEMO_SUPERUSER = "admin"


@transaction.atomic
def load(stdout) -> list[tuple[str, str]]:
    """Create the demo users that do not exist yet; existing ones are left alone."""
    User = get_user_model()
    logins: list[tuple[str, str]] = []
    for role in Role:
        user, created = User.objects.get_or_create(
            username=role.value, defaults={"is_staff": role in ADMIN_ROLES}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role.value))
        logins.append((role.value, str(role.label)))
    admin, created = User.objects.get_or_create(
        username=DEMO_SUPERUSER, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
    logins.append((DEMO_SUPERUSER, "superuser"))
    return logins
