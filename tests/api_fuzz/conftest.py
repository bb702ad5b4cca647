"""The fuzz suite's world: the demo data, loaded once per module, and a token per role.

Loading the demo data for each of a few hundred fuzz tests would take minutes,
so a module loads it once inside an outer transaction that is rolled back when
the module ends; each test (pytest-django's ``db``) then runs in a savepoint
inside it, and each generated request in a savepoint of its own, so a request
sees the demo data as loaded and leaves nothing behind.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

ROLES = ("planner", "worker", "team_leader", "supervisor", "maintenance")


@dataclass(frozen=True)
class FuzzWorld:
    tokens: dict[str, str]  # role -> API token key
    node_tokens: dict[str, str]  # node name -> inbound token


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    from integrations.models import Node
    from integrations.services import node_token_rotate
    from mes.tokens import api_token_create

    fast_hash = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    )
    with django_db_blocker.unblock(), fast_hash, transaction.atomic():
        call_command("demo_data", stdout=io.StringIO())
        users = get_user_model().objects.filter(username__in=ROLES)
        tokens = {
            user.username: api_token_create(actor=None, user=user, name="fuzz").key
            for user in users
        }
        node_tokens = {
            node.name: node_token_rotate(node_id=node.pk) for node in Node.objects.order_by("pk")
        }
        yield FuzzWorld(tokens=tokens, node_tokens=node_tokens)
        transaction.set_rollback(True)
