"""Drop waffle's own flag tables: the flag model is releases.Flag (WAFFLE_FLAG_MODEL).

waffle's first migration creates ``waffle_flag`` and its user and group tables
whatever the setting. Unused, they still hold foreign keys to ``auth_user`` and
``auth_group``, and Django's flush (which skips swapped models) could no longer
empty those on PostgreSQL. Reversible: going back creates them again, as
waffle's migrations left them.
"""

from django.db import migrations


def drop_waffle_flag(apps, schema_editor):
    schema_editor.delete_model(apps.get_model("waffle", "Flag"))


def create_waffle_flag(apps, schema_editor):
    schema_editor.create_model(apps.get_model("waffle", "Flag"))


class Migration(migrations.Migration):
    dependencies = [
        ("releases", "0001_initial"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunPython(drop_waffle_flag, create_waffle_flag)]
