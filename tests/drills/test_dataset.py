"""A drill on the plant's own data: the shipped anonymised sample loads and drives the traffic."""

import json
import re
from argparse import Namespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from drills.load.dataset import seed_from_dataset
from drills.load.options import parse_options
from drills.load.seed import floor_worker_count
from drills.management.commands.export_drill_dataset import (
    FREE_TEXT_FIELDS,
    KEPT_FIELDS,
    PERSON_KEYS,
)
from drills.paths import ROOT
from inventory.models import StockBalance
from mes.models import ApiToken
from workorders.models import WorkOrderOperation

SAMPLE = ROOT / "drills" / "samples" / "demo-anonymized.json"
PSEUDONYM = re.compile(r"^[\w.]+-[0-9a-f]{10}(@example\.invalid)?$")


def _strings(value, key=""):
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str):
        yield key, value


def test_the_sample_holds_no_names_emails_secrets_or_free_text():
    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    users = [r["fields"] for r in records if r["model"] == "auth.user"]
    assert users
    for user in users:
        assert user["username"].startswith("user-")
        assert user["password"] == "!"
        for name in ("first_name", "last_name", "email"):
            assert user[name] == "" or PSEUDONYM.match(user[name]), user[name]
    for record in records:
        for key, value in _strings(record["fields"]):
            if not value:
                continue
            if key in PERSON_KEYS:
                assert value.startswith("user-"), (record["model"], key, value)
            if key in FREE_TEXT_FIELDS and (record["model"].split(".")[1], key) not in KEPT_FIELDS:
                assert PSEUDONYM.match(value), (record["model"], key, value)
            assert "@" not in value or value.endswith("@example.invalid")
            assert "pbkdf2" not in value
            assert "://" not in value or ".example.invalid/" in value
    assert not any(r["model"] == "mes.apitoken" for r in records)


def test_the_drill_option_names_the_dataset():
    options = parse_options(["--dataset", str(SAMPLE)])
    assert options.dataset == str(SAMPLE)


@pytest.mark.django_db
def test_the_sample_loads_and_gives_the_traffic_its_users_materials_and_work_orders():
    call_command("loaddata", str(SAMPLE), verbosity=0)
    options = Namespace(users=20, duration=20, dataset=str(SAMPLE))

    fixture = seed_from_dataset(options)

    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    names = {r["fields"]["username"] for r in records if r["model"] == "auth.user"}
    assert {w["username"] for w in fixture["workers"]} <= names
    assert fixture["planner"]["username"] in names
    assert ApiToken.objects.filter(user__username__in=names).count() == len(fixture["workers"])
    codes = {r["fields"]["code"] for r in records if r["model"] == "inventory.material"}
    assert set(fixture["stock"]["materials"]) <= codes
    assert set(fixture["issue"]["materials"]) <= codes
    locations = {r["fields"]["code"] for r in records if r["model"] == "inventory.location"}
    assert set(fixture["stock"]["locations"]) <= locations
    assert len(fixture["slots"]) == floor_worker_count(20)
    first_operations = [pk for slot in fixture["slots"] for pk in slot]
    operations = WorkOrderOperation.objects.filter(pk__in=first_operations)
    assert operations.count() == len(first_operations)
    assert {op.work_order.state for op in operations} == {"dispatched"}
    assert all(
        StockBalance.objects.filter(
            material__code=code, location__code=fixture["issue"]["location"]
        ).exists()
        for code in fixture["issue"]["materials"]
    )
    assert fixture["erp"]["token"]


def test_a_dataset_that_is_not_an_export_is_refused_before_the_drill_starts(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a fixture"}', encoding="utf-8")

    with pytest.raises(CommandError, match="DRL-002"):
        call_command("drill", "--dataset", str(bad))
    with pytest.raises(CommandError, match="DRL-002"):
        call_command("drill", "--dataset", str(tmp_path / "missing.json"))
