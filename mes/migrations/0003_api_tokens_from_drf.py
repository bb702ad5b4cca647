"""Move DRF's plain-text tokens (``rest_framework.authtoken``) into ``mes.ApiToken``.

Each key is stored as its SHA-256 with its first characters, so that clients
keep working with the key they have; then DRF's table is dropped (the app is no
longer installed) with its permissions, so that no key is left in plain text.
A database that never had the table (a new installation) has nothing to move.
Going back cannot restore the keys: only their hashes remain.
"""

import hashlib
from datetime import UTC, datetime

from django.db import migrations
from django.utils.dateparse import parse_datetime

DRF_TABLE = "authtoken_token"
PREFIX_LENGTH = 8


def _aware(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def move_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if DRF_TABLE not in connection.introspection.table_names(cursor):
            return
        columns = ", ".join(
            connection.ops.quote_name(name) for name in ("key", "user_id", "created")
        )
        cursor.execute(f"SELECT {columns} FROM {connection.ops.quote_name(DRF_TABLE)}")
        rows = cursor.fetchall()
    ApiToken = apps.get_model("mes", "ApiToken")
    ApiToken.objects.using(connection.alias).bulk_create(
        [
            ApiToken(
                user_id=user_id,
                name="API token (before hashing)",
                key_prefix=key[:PREFIX_LENGTH],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                created_at=_aware(created),
            )
            for key, user_id, created in rows
        ]
    )
    if connection.vendor == "sqlite":
        # SQLite would keep the dropped pages' bytes in its free list: zero them instead.
        schema_editor.execute("PRAGMA secure_delete = ON")
    schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(DRF_TABLE)}")
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.using(connection.alias).filter(content_type__app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [("mes", "0002_api_token"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(move_drf_tokens, migrations.RunPython.noop)]
