"""A database with DRF's plain-text tokens (``authtoken_token``) migrates to hashed
``ApiToken`` rows: clients keep their key, and no key is left in plain text."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from rest_framework.test import APIClient

from mes.models import ApiToken

BEFORE_THE_MOVE = [("mes", "0002_api_token")]
DRF_KEY = "0123456789abcdef0123456789abcdef01234567"  # DRF's keys: 40 hex characters


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _create_drf_table(user_id: int) -> None:
    created_type = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE "authtoken_token" ("key" varchar(40) NOT NULL PRIMARY KEY, '
            f'"created" {created_type} NOT NULL, "user_id" integer NOT NULL UNIQUE)'
        )
        cursor.execute(
            'INSERT INTO "authtoken_token" ("key", "created", "user_id") VALUES (%s, %s, %s)',
            [DRF_KEY, created, user_id],
        )


@pytest.mark.django_db(transaction=True)
def test_drf_tokens_move_into_hashed_rows_and_their_table_is_dropped(user_with_role):
    user = user_with_role("planner", username="drf-token-owner")
    _migrate(BEFORE_THE_MOVE)
    _create_drf_table(user.pk)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hashlib.sha256(DRF_KEY.encode()).hexdigest()
    assert token.key_prefix == DRF_KEY[:8] and token.revoked_at is None
    assert abs((timezone.now() - token.created_at).total_seconds()) < 600
    assert "authtoken_token" not in connection.introspection.table_names()
    # The client's key still works, as the same person.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {DRF_KEY}")
    assert client.get("/api/v1/me/").json()["username"] == "drf-token-owner"


@pytest.mark.django_db(transaction=True)
def test_a_database_without_drf_tokens_migrates_without_moving_anything():
    _migrate(BEFORE_THE_MOVE)
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert not ApiToken.objects.exists()
