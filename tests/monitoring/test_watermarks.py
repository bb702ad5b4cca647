"""Resource watermarks with sampled values injected: 70 / 85 / 95 % raise C / B / A."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Incident, ResourceSample
from monitoring.services.resources import resource_sample_record


def _open(resource="cpu", host="line-pc"):
    return sorted(
        Incident.objects.exclude(state="resolved")
        .filter(source=f"host:{host}:{resource}")
        .values_list("code", flat=True)
    )


def _sample(cpu, memory=40.0, disk=50.0, host="line-pc"):
    return resource_sample_record(cpu=cpu, memory=memory, disk=disk, hostname=host)


@pytest.mark.django_db
def test_levels_rise_and_clear_with_usage():
    _sample(50)
    assert _open() == [] and Incident.objects.count() == 0
    _sample(72)
    assert _open() == ["MON-011"]
    incident = Incident.objects.get(code="MON-011")
    assert incident.severity == "C" and incident.category == "resource"
    assert incident.detail == {
        "resource": "cpu",
        "percent": 72.0,
        "watermark": 70.0,
        "host": "line-pc",
    }
    _sample(88)
    assert _open() == ["MON-012"]
    assert Incident.objects.get(code="MON-011").state == "resolved"
    _sample(96)
    assert _open() == ["MON-013"]
    assert Incident.objects.get(code="MON-013").severity == "A"
    _sample(97)
    assert Incident.objects.get(code="MON-013").occurrences == 2  # grouped, not duplicated
    _sample(60)
    assert _open() == []
    cleared = Incident.objects.get(code="MON-013")
    assert cleared.state == "resolved" and cleared.resolved_by is None


@pytest.mark.django_db
def test_an_open_level_holds_within_the_hysteresis(settings):
    settings.MES_WATERMARK_HYSTERESIS = 5
    _sample(96)
    _sample(91)  # 95 - 5 <= 91: still A
    assert _open() == ["MON-013"]
    _sample(89)  # below 90: B level now
    assert _open() == ["MON-012"]
    _sample(66)  # below B's band, within C's (70 - 5 <= 66)... C was not open: plain level None
    assert _open() == []
    _sample(71)
    _sample(66)
    assert _open() == ["MON-011"]
    _sample(64.9)
    assert _open() == []


@pytest.mark.django_db
def test_memory_and_disk_have_their_own_incidents_per_host(settings):
    _sample(10, memory=86, disk=96, host="db-1")
    _sample(10, memory=10, disk=10, host="web-1")
    assert _open("memory", "db-1") == ["MON-022"]
    assert _open("disk", "db-1") == ["MON-033"]
    assert _open("cpu", "db-1") == []
    assert _open("disk", "web-1") == []


@pytest.mark.django_db
def test_thresholds_are_configurable(settings):
    settings.MES_WATERMARK_C = 50
    _sample(55)
    assert _open() == ["MON-011"]


@pytest.mark.django_db
def test_samples_are_kept_for_thirty_days():
    old = _sample(10)
    ResourceSample.objects.filter(pk=old.pk).update(sampled_at=timezone.now() - timedelta(days=31))
    recent = _sample(10)
    ResourceSample.objects.filter(pk=recent.pk).update(
        sampled_at=timezone.now() - timedelta(days=29)
    )
    _sample(10)
    assert ResourceSample.objects.count() == 2


@pytest.mark.django_db
def test_a_real_sample_measures_this_machine():
    sample = resource_sample_record()
    for value in (sample.cpu_percent, sample.memory_percent, sample.disk_percent):
        assert 0 <= value <= 100


@pytest.mark.django_db
def test_the_beat_task_samples(monkeypatch):
    from monitoring import tasks
    from monitoring.services import resources

    monkeypatch.setattr(
        resources, "usage_measure", lambda **_: resources.Usage(cpu=1.0, memory=2.0, disk=3.0)
    )
    tasks.sample_resources.apply()
    assert ResourceSample.objects.get().disk_percent == 3.0
