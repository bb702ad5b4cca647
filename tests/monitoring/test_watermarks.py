"""Resource watermarks with sampled values injected: 70 / 85 / 95 % raise C / B / A,
judged on the last minutes' samples (a sustained level), never on one sample."""

from collections import namedtuple
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import health
from monitoring.disk import disk_usage
from monitoring.models import Incident, ResourceSample
from monitoring.services import resources
from monitoring.services.resources import resource_sample_record


def _open(resource="cpu", host="line-pc"):
    return sorted(
        Incident.objects.exclude(state="resolved")
        .filter(source=f"host:{host}:{resource}")
        .values_list("code", flat=True)
    )


def _sample(cpu, memory=40.0, disk=50.0, host="line-pc", now=None):
    return resource_sample_record(cpu=cpu, memory=memory, disk=disk, hostname=host, now=now)


@pytest.fixture
def one_sample_decides(settings):
    """Judge each sample alone (a window of 0 minutes): the level rules themselves."""
    settings.MES_WATERMARK_WINDOW_MINUTES = 0
    settings.MES_WATERMARK_MIN_SAMPLES = 1


# --- Sustained level: every sample of the window ------------------------------------
def _minutes(values, *, host="line-pc", start=None):
    start = start or timezone.now() - timedelta(minutes=len(values) + 1)
    for minute, cpu in enumerate(values):
        _sample(cpu, host=host, now=start + timedelta(minutes=minute))
    return start + timedelta(minutes=len(values))


@pytest.mark.django_db
def test_a_busy_start_up_raises_nothing():
    """The issue: 7 samples over 95 % in 10 minutes on a busy two-core machine at start-up
    used to raise A seven times; quiet minutes between them mean it was not sustained."""
    _minutes([99, 20, 98, 30, 97, 96, 25, 99, 100, 96])
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_a_level_held_for_the_whole_window_raises_and_one_quiet_minute_keeps_it():
    start = timezone.now() - timedelta(minutes=30)
    _minutes([99, 99], start=start)  # two samples: the window is not full enough yet
    assert Incident.objects.count() == 0
    after = _minutes([96, 97, 98], start=start + timedelta(minutes=2))
    assert _open() == ["MON-013"]
    incident = Incident.objects.get(code="MON-013")
    assert incident.detail == {
        "resource": "cpu",
        "percent": 96.0,
        "peak_percent": 99.0,
        "watermark": 95.0,
        "host": "line-pc",
        "window_minutes": 5.0,
        "samples": 5,
    }
    after = _minutes([30], start=after)  # one quiet minute: the others still hold A
    assert _open() == ["MON-013"]
    _minutes([30, 30, 30, 30], start=after)
    assert _open() == []
    assert Incident.objects.get(code="MON-013").state == "resolved"


@pytest.mark.django_db
def test_a_level_reached_by_every_sample_wins_over_a_lower_open_one():
    start = timezone.now() - timedelta(minutes=30)
    after = _minutes([72, 75, 71, 74, 73], start=start)
    assert _open() == ["MON-011"]
    _minutes([88, 89, 90, 87, 86], start=after)
    assert _open() == ["MON-012"]


@pytest.mark.django_db
def test_the_window_and_the_sample_count_are_configurable(settings):
    settings.MES_WATERMARK_WINDOW_MINUTES = 2
    settings.MES_WATERMARK_MIN_SAMPLES = 2
    start = timezone.now() - timedelta(minutes=10)
    _sample(80, now=start)
    assert Incident.objects.count() == 0
    _sample(80, now=start + timedelta(minutes=1))
    assert _open() == ["MON-011"]


# --- The levels (one sample decides) ------------------------------------------------
@pytest.mark.django_db
@pytest.mark.usefixtures("one_sample_decides")
def test_levels_rise_and_clear_with_usage():
    _sample(50)
    assert _open() == [] and Incident.objects.count() == 0
    _sample(72)
    assert _open() == ["MON-011"]
    incident = Incident.objects.get(code="MON-011")
    assert incident.severity == "C" and incident.category == "resource"
    assert incident.detail["percent"] == 72.0 and incident.detail["watermark"] == 70.0
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
@pytest.mark.usefixtures("one_sample_decides")
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
@pytest.mark.usefixtures("one_sample_decides")
def test_memory_and_disk_have_their_own_incidents_per_host():
    _sample(10, memory=86, disk=96, host="db-1")
    _sample(10, memory=10, disk=10, host="web-1")
    assert _open("memory", "db-1") == ["MON-022"]
    assert _open("disk", "db-1") == ["MON-033"]
    assert _open("cpu", "db-1") == []
    assert _open("disk", "web-1") == []


@pytest.mark.django_db
@pytest.mark.usefixtures("one_sample_decides")
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

    monkeypatch.setattr(
        resources, "usage_measure", lambda **_: resources.Usage(cpu=1.0, memory=2.0, disk=3.0)
    )
    tasks.sample_resources.apply()
    assert ResourceSample.objects.get().disk_percent == 3.0


# --- One disk measure for the panel and the chart -----------------------------------
DiskTotals = namedtuple("DiskTotals", "total used free")


def test_free_and_used_disk_add_up_where_used_and_free_do_not_fill_the_disk(monkeypatch):
    """The issue's numbers: 252 GB, 24 GB used, 79 GB free for us (the rest reserved or
    elsewhere). Before: 31 % free on the panel (free / total) beside 9.5 % on the
    chart (used / total). Now both say 23.3 % used, 76.7 % free, as df does."""
    gb = 1024**3
    monkeypatch.setattr(
        "monitoring.disk.shutil.disk_usage",
        lambda path: DiskTotals(252 * gb, 24 * gb, 79 * gb),
    )
    usage = disk_usage()
    assert (usage.used_percent, usage.free_percent) == (23.3, 76.7)
    assert resources.usage_measure(cpu_interval=0).disk == 23.3
    assert health._probe_disk()["free_percent"] == 76.7


def test_the_real_disk_panel_and_chart_agree():
    panel_free = health._probe_disk()["free_percent"]
    chart_used = resources.usage_measure(cpu_interval=0).disk
    assert abs(panel_free + chart_used - 100) <= 0.2  # a file written between the two calls
