"""``python manage.py export_drill_dataset --anonymize --output FILE``.

A JSON fixture (Django's serializer format, ``loaddata`` reads it) of the
users, master data, stock, work orders, integrations and monitoring data.
With ``--anonymize`` people and free text are replaced deterministically
(the same value always becomes the same replacement, so relations by name
still line up); codes, quantities, states, times and relations are kept.
Passwords, API tokens, node token hashes and sessions are never exported.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

APPS = ["inventory", "workorders", "integrations", "monitoring"]
# Raw uploaded files: their rows are exported from the tables they were applied
# to, and their bytes cannot be anonymized field by field.
RAW_UPLOAD_MODELS = {"integrations.masterdataupload"}
# Free text on any model: replaced when anonymizing.
FREE_TEXT_FIELDS = {
    "name",
    "note",
    "notes",
    "reason",
    "scrap_reason",
    "description",
    "specification",
    "title",
    "message",
    "comment",
    "last_error_message",
    "supplier_lot",
    "resolution",
}
USER_FIELDS = {"username", "first_name", "last_name", "email"}
SECRET_FIELDS = {"password": "!", "inbound_token_hash": ""}


def pseudonym(kind: str, value: str) -> str:
    """The same input always gives the same short replacement."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:10]
    return f"{kind}-{digest}"


def anonymize_record(record: dict) -> dict:
    fields = record["fields"]
    model = record["model"].split(".")[1]
    for name, value in list(fields.items()):
        if name in SECRET_FIELDS:
            fields[name] = SECRET_FIELDS[name]
        elif not isinstance(value, str) or not value:
            continue
        elif model == "user" and name in USER_FIELDS:
            replaced = pseudonym("user", value) if name == "username" else pseudonym(name, value)
            fields[name] = f"{replaced}@example.invalid" if name == "email" else replaced
        elif name in FREE_TEXT_FIELDS:
            fields[name] = pseudonym(f"{model}.{name}", value)
    return record


def dataset(anonymize: bool) -> list[dict]:
    models = [get_user_model()]
    for label in APPS:
        models.extend(
            model
            for model in apps.get_app_config(label).get_models()
            if model._meta.label_lower not in RAW_UPLOAD_MODELS
        )
    records: list[dict] = []
    for model in models:
        queryset = model._default_manager.order_by("pk")
        records.extend(serializers.serialize("python", queryset.iterator(chunk_size=2000)))
    if anonymize:
        records = [anonymize_record(record) for record in records]
    else:
        for record in records:
            for name, blank in SECRET_FIELDS.items():
                if name in record["fields"]:
                    record["fields"][name] = blank
    return records


class Command(BaseCommand):
    help = (
        "Export the data as a JSON fixture for the load drill; "
        "--anonymize replaces people and free text."
    )

    def add_arguments(self, parser):
        parser.add_argument("--anonymize", action="store_true", help="replace names and free text")
        parser.add_argument("--output", required=True, help="the JSON file to write")

    def handle(self, *args, anonymize: bool, output: str, **options):
        records = dataset(anonymize)
        Path(output).write_text(
            json.dumps(records, cls=DjangoJSONEncoder, indent=1), encoding="utf-8"
        )
        counts: dict[str, int] = {}
        for record in records:
            counts[record["model"]] = counts.get(record["model"], 0) + 1
        self.stdout.write(
            f"{len(records)} records written to {output}" + (" (anonymized)" if anonymize else "")
        )
        for model, count in sorted(counts.items()):
            self.stdout.write(f"  {model:40} {count}")
