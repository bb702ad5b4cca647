"""Failures can be counted per release: logs, metrics and the report's selector."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from mes.logs import JsonFormatter
from mes.version import current_version
from monitoring.metrics import metrics_text
from releases.models import Release
from releases.selectors import release_at, releases_between


def test_every_log_line_names_the_release():
    record = logging.LogRecord("mes", logging.ERROR, __file__, 1, "boom", None, None)
    assert json.loads(JsonFormatter().format(record))["release"] == current_version()


@pytest.mark.django_db
def test_metrics_name_the_release():
    assert f'mes_release_info{{version="{current_version()}"}} 1.0' in metrics_text().decode()


@pytest.mark.django_db
def test_release_at_a_moment_and_between_two():
    now = timezone.now()
    old = Release.objects.create(
        state="succeeded", version="0.1-a", actor="it", started_at=now - timedelta(days=10)
    )
    Release.objects.create(
        state="failed", version="0.2-b", actor="it", started_at=now - timedelta(days=5)
    )
    new = Release.objects.create(
        state="succeeded", version="0.2-c", actor="it", started_at=now - timedelta(days=2)
    )
    assert release_at(now - timedelta(days=3)) == old
    assert release_at(now) == new
    assert release_at(now - timedelta(days=20)) is None
    assert releases_between(now - timedelta(days=7), now) == [old, new]
