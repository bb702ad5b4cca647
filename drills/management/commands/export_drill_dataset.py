"""``python manage.py export_drill_dataset --anonymize --output FILE``.

A JSON fixture (Django's serializer format, ``loaddata`` reads it) of the
users, master data, stock, work orders, integrations and monitoring data.
With ``--anonymize`` people and free text are replaced deterministically
(the same value always becomes the same replacement, so relations by name
still line up); codes, quantities, states, times and relations are kept.
Passwords, API tokens, node token hashes and sessions are never exported.
``--history N`` keeps only the N most recent closed or cancelled work orders
(with their operations and events; open ones are always kept), for a small
sample such as ``drills/samples/demo-anonymized.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
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
    "summary",
}
# Names that are identifiers the system is configured by, not free text: an
# integration node's name is in its URLs (/api/v1/nodes/erp/...).
KEPT_FIELDS = {("node", "name")}
# Inside JSON fields (event data, outbox payloads, incident details): keys naming a person
# get the user's pseudonym (the same as the username's), free-text keys a pseudonym.
PERSON_KEYS = {"actor", "user", "username", "accepted_by", "assigned_to", "created_by", "by"}
JSON_FREE_TEXT_KEYS = FREE_TEXT_FIELDS | {"detail", "error", "shift"}
USER_FIELDS = {"username", "first_name", "last_name", "email"}
SECRET_FIELDS = {"password": "!", "inbound_token_hash": "", "pin_hash": "!"}
# Hashes that must stay unique: replaced by a pseudonym of themselves.
UNIQUE_SECRET_FIELDS = {"token_hash"}
# Addresses of the plant's systems and channels (a webhook's may carry its key).
ADDRESS_FIELDS = {"url", "base_url"}


def pseudonym(kind: str, value: str) -> str:
    """The same input always gives the same short replacement."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:10]
    return f"{kind}-{digest}"


def anonymize_json(value, model: str):
    """A JSON field's value with people and free text replaced, at any depth."""
    if isinstance(value, list):
        return [anonymize_json(item, model) for item in value]
    if not isinstance(value, dict):
        return value
    replaced = {}
    for key, item in value.items():
        if isinstance(item, str) and item and key in PERSON_KEYS:
            replaced[key] = pseudonym("user", item)
        elif isinstance(item, str) and item and key in JSON_FREE_TEXT_KEYS:
            replaced[key] = pseudonym(f"{model}.{key}", item)
        else:
            replaced[key] = anonymize_json(item, model)
    return replaced


def anonymize_record(record: dict) -> dict:
    fields = record["fields"]
    model = record["model"].split(".")[1]
    for name, value in list(fields.items()):
        if name in SECRET_FIELDS:
            fields[name] = SECRET_FIELDS[name]
        elif name in UNIQUE_SECRET_FIELDS and value:
            fields[name] = pseudonym("secret", value)
        elif name in ADDRESS_FIELDS and value:
            fields[name] = f"http://{pseudonym('host', value)}.example.invalid/"
        elif isinstance(value, dict | list):
            fields[name] = anonymize_json(value, model)
        elif not isinstance(value, str) or not value:
            continue
        elif model == "user" and name in USER_FIELDS:
            replaced = pseudonym("user", value) if name == "username" else pseudonym(name, value)
            fields[name] = f"{replaced}@example.invalid" if name == "email" else replaced
        elif name in FREE_TEXT_FIELDS and (model, name) not in KEPT_FIELDS:
            fields[name] = pseudonym(f"{model}.{name}", value)
    return record


# Work orders that are history: ``--history`` keeps the most recent of them.
FINISHED_STATES = ("closed", "cancelled")


def _history_cut(history: int | None) -> dict[str, set]:
    """Model label -> the pks left out (work orders and their operations) by ``--history``."""
    if history is None:
        return {}
    work_orders = apps.get_model("workorders", "WorkOrder")
    operations = apps.get_model("workorders", "WorkOrderOperation")
    finished = list(
        work_orders.objects.filter(state__in=FINISHED_STATES)
        .order_by("-pk")
        .values_list("pk", flat=True)
    )
    dropped = set(finished[history:])
    return {
        "workorders.workorder": dropped,
        "workorders.workorderoperation": set(
            operations.objects.filter(work_order__in=dropped).values_list("pk", flat=True)
        ),
    }


def _kept(record: dict, model, cut: dict[str, set]) -> bool:
    """False for a left-out row and for every row pointing at one."""
    if record["pk"] in cut.get(record["model"], ()):
        return False
    for field in model._meta.concrete_fields:
        target = field.related_model._meta.label_lower if field.is_relation else None
        if target in cut and record["fields"].get(field.name) in cut[target]:
            return False
    return True


def dataset(anonymize: bool, history: int | None = None) -> list[dict]:
    models = [get_user_model()]
    for label in APPS:
        models.extend(
            model
            for model in apps.get_app_config(label).get_models()
            if model._meta.label_lower not in RAW_UPLOAD_MODELS
        )
    records: list[dict] = []
    cut = _history_cut(history)
    for model in models:
        queryset = model._default_manager.order_by("pk")
        serialized = serializers.serialize("python", queryset.iterator(chunk_size=2000))
        records.extend(r for r in serialized if not cut or _kept(r, model, cut))
    if anonymize:
        records = [anonymize_record(record) for record in records]
    else:
        for record in records:
            for name, blank in SECRET_FIELDS.items():
                if name in record["fields"]:
                    record["fields"][name] = blank
            for name in UNIQUE_SECRET_FIELDS & set(record["fields"]):
                if record["fields"][name]:
                    record["fields"][name] = pseudonym("secret", record["fields"][name])
    return records


class Command(BaseCommand):
    help = (
        "Export the data as a JSON fixture for the load drill; "
        "--anonymize replaces people and free text."
    )

    def add_arguments(self, parser):
        parser.add_argument("--anonymize", action="store_true", help="replace names and free text")
        parser.add_argument("--output", required=True, help="the JSON file to write")
        parser.add_argument(
            "--history",
            type=int,
            default=None,
            help="keep only this many of the most recent closed or cancelled work orders",
        )

    def handle(self, *args, anonymize: bool, output: str, history: int | None, **options):
        if history is not None and history < 0:
            raise CommandError("--history must be 0 or more")
        records = dataset(anonymize, history)
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
