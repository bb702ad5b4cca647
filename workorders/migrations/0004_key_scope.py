"""Idempotency keys of work-order events and fault reports per actor: one unique
index per (key, actor) and one per key among the system's rows; existing rows
stay valid (their keys were unique on their own)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_notification_claimed_until"),
        ("workorders", "0003_floor_device"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="faultreport",
            name="idempotency_key",
            field=models.CharField(max_length=128),
        ),
        migrations.AlterField(
            model_name="workorderevent",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=128, null=True),
        ),
        migrations.AddConstraint(
            model_name="faultreport",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key", "reported_by"), name="fault_report_key_per_actor"
            ),
        ),
        migrations.AddConstraint(
            model_name="faultreport",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reported_by__isnull", True)),
                fields=("idempotency_key",),
                name="fault_report_key_system",
            ),
        ),
        migrations.AddConstraint(
            model_name="workorderevent",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key", "actor"), name="work_order_event_key_per_actor"
            ),
        ),
        migrations.AddConstraint(
            model_name="workorderevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("actor__isnull", True)),
                fields=("idempotency_key",),
                name="work_order_event_key_system",
            ),
        ),
    ]
