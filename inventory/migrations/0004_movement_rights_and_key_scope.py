"""One permission per movement type, and idempotency keys per actor.

The keys' single-column unique indexes become one per (key, actor) and one
per key among the system's rows (``mes.idempotency.scoped_key_constraints``);
every existing row stays valid, its key was unique on its own. Recovery claims
made before recorded no actor: they are marked ``unscoped`` and keep answering
their key for anyone, as they did.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_stock_recovery_claim"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="stockmovement",
            options={
                "ordering": ["-recorded_at", "-id"],
                "permissions": [
                    ("receive_stock", "Can receive stock"),
                    ("issue_stock", "Can issue stock"),
                    ("return_stock", "Can return stock from a work order"),
                    ("post_completion", "Can post production completions"),
                    ("put_away_stock", "Can put away stock"),
                    ("transfer_stock", "Can transfer stock"),
                    ("adjust_stock", "Can adjust stock"),
                    ("count_stock", "Can count stock"),
                    ("reverse_stockmovement", "Can reverse a stock movement"),
                ],
                "verbose_name": "stock movement",
                "verbose_name_plural": "stock movements",
            },
        ),
        migrations.AddField(
            model_name="stockrecoveryclaim",
            name="actor",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="stockrecoveryclaim",
            name="unscoped",
            field=models.BooleanField(default=True, editable=False),  # the claims made before
        ),
        migrations.AlterField(
            model_name="stockrecoveryclaim",
            name="unscoped",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AlterField(
            model_name="stockmovement",
            name="idempotency_key",
            field=models.CharField(max_length=128, verbose_name="idempotency key"),
        ),
        migrations.AlterField(
            model_name="stockrecoveryclaim",
            name="idempotency_key",
            field=models.CharField(max_length=128, verbose_name="idempotency key"),
        ),
        migrations.AlterField(
            model_name="stockreservation",
            name="idempotency_key",
            field=models.CharField(max_length=128, verbose_name="idempotency key"),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key", "actor"), name="movement_key_per_actor"
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("actor__isnull", True)),
                fields=("idempotency_key",),
                name="movement_key_system",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockrecoveryclaim",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key", "actor"), name="recovery_claim_key_per_actor"
            ),
        ),
        migrations.AddConstraint(
            model_name="stockrecoveryclaim",
            constraint=models.UniqueConstraint(
                condition=models.Q(("actor__isnull", True)),
                fields=("idempotency_key",),
                name="recovery_claim_key_system",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockreservation",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key", "actor"), name="reservation_key_per_actor"
            ),
        ),
        migrations.AddConstraint(
            model_name="stockreservation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("actor__isnull", True)),
                fields=("idempotency_key",),
                name="reservation_key_system",
            ),
        ),
    ]
