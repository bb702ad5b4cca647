"""The demo's notification rules are named in Chinese, and a demo from before is renamed."""

from io import StringIO

import pytest
from django.core.management import call_command

from monitoring import demo
from monitoring.models import NotificationChannel, NotificationRule


@pytest.mark.django_db
def test_demo_rules_are_named_in_chinese_and_old_english_names_are_renamed():
    channel = NotificationChannel.objects.create(
        name="demo-webhook", kind="webhook", url="", is_active=False
    )
    NotificationRule.objects.create(name="Every A incident", channel=channel, severities="A")

    call_command("demo_data", stdout=StringIO())

    names = set(NotificationRule.objects.values_list("name", flat=True))
    assert names == {name for name, *_rest in demo.RULES}
    assert all(
        not any("a" <= char.lower() <= "z" for char in name.replace("A", "")) for name in names
    )
    assert NotificationRule.objects.filter(name="所有 A 级异常").count() == 1
