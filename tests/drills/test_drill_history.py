"""The history of load drills in the app: each run recorded, listed with a trend, its report."""

import json
import subprocess
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from drills import demo
from drills.demo import demo_report
from drills.management.commands import drill
from drills.models import DrillRun
from drills.services import drill_run_record
from mes.errors import ApplicationError
from tests.factories import UserFactory

STARTED = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def _record(months_later=0, p95_ms=95.0, cpu=38.0, **kwargs):
    started = STARTED + timedelta(days=30 * months_later)
    return drill_run_record(report=demo_report(started, p95_ms, cpu, **kwargs))


@pytest.mark.django_db
def test_a_report_is_recorded_with_its_verdict_options_and_key_figures():
    report = demo_report(STARTED, 240.0, 67.0, queue_growth=6.0)
    report["options"]["dataset"] = "/data/plant-2026-09.json"

    run = drill_run_record(report=report)

    run.refresh_from_db()
    assert run.started_at == STARTED
    assert run.passed is False
    assert run.dataset == "/data/plant-2026-09.json"
    assert run.options["users"] == 200
    assert run.code_version == "demo10"
    assert run.figures["p95_ms"] == 240
    assert run.figures["cpu_percent_mean"] == 67.0
    assert run.figures["warnings"] == ["queue_growing"]
    assert run.figures["checks_failed"] > 0
    assert run.report["samples"][0]["proc_cpu"]["celery"] >= 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "report",
    [
        {},
        {"started": "2026-10-01T02:00:00+00:00"},
        {"verdict": {"pass": True}},
        {"started": "yesterday", "verdict": {"pass": True}},
    ],
)
def test_an_incomplete_report_is_refused_with_a_code_and_nothing_stored(report):
    with pytest.raises(ApplicationError) as raised:
        drill_run_record(report=report)

    assert raised.value.code == "DRL-001"
    assert not DrillRun.objects.exists()


@pytest.mark.django_db
def test_the_drill_command_records_the_run_in_its_own_database(monkeypatch, tmp_path):
    report_path = tmp_path / "drill.json"
    started = []

    def run(args, **_kwargs):
        started.append(args)
        given = next(a for a in args if a.startswith("--report="))
        assert given == f"--report={report_path}"
        assert "--db-name=mes_drill" in args  # the drill loads a database of its own
        report_path.write_text(json.dumps(demo_report(STARTED, 240.0, 67.0)))
        return subprocess.CompletedProcess(args, 1)  # FAIL: still recorded

    monkeypatch.setattr(drill.subprocess, "run", run)
    out = StringIO()
    with pytest.raises(Exception, match="failed its budgets"):
        call_command("drill", "--report", str(report_path), stdout=out)

    [run_row] = DrillRun.objects.all()
    assert run_row.passed is False
    assert f"/drills/{run_row.pk}/" in out.getvalue()


@pytest.mark.django_db
def test_the_history_page_lists_the_runs_with_the_trend(client):
    _record(0, 240.0, 67.0, queue_growth=6.0)
    _record(1, 170.0, 55.0, connections=40)
    newest = _record(2, 95.0, 38.0)
    client.force_login(UserFactory(roles=["supervisor"]))

    page = client.get("/drills/").content.decode()

    assert 'id="drill-trend"' in page
    assert page.count("<polyline") == 2  # p95 and CPU per run
    assert "p95, all requests (ms)" in page and "mean CPU of the machine (%)" in page
    assert page.index(f"/drills/{newest.pk}/") < page.index(f"/drills/{newest.pk - 1}/")
    assert page.count("FAIL") == 2 and page.count("PASS") == 1


@pytest.mark.django_db
def test_a_runs_page_shows_its_report_and_the_comparison_with_the_previous_run(client):
    previous = _record(0, 240.0, 67.0, queue_growth=6.0)
    run = _record(1, 170.0, 55.0, connections=40)
    client.force_login(UserFactory(roles=["planner"]))

    page = client.get(f"/drills/{run.pk}/").content.decode()

    assert 'id="drill-comparison"' in page
    assert f"/drills/{previous.pk}/" in page
    assert page.count("<svg") == 8
    assert "Raise <code>max_connections</code> in <code>postgresql.conf</code> to at least" in page
    assert (
        client.get(f"/drills/{previous.pk}/")
        .content.decode()
        .count("This is the first drill recorded.")
        == 1
    )
    assert client.get("/drills/999999/").status_code == 404


@pytest.mark.django_db
def test_the_pages_speak_chinese(client):
    _record(0, 240.0, 67.0, queue_growth=6.0)
    run = _record(1, 170.0, 55.0, connections=40)
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/drills/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    detail = client.get(f"/drills/{run.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "负载演练" in listing
    assert "与上一次演练相比" in detail
    assert "整机平均 CPU 低于 40 %" in detail and "55.0 %" in detail
    assert "把 PostgreSQL 的 <code>max_connections</code>" in detail


@pytest.mark.django_db
def test_the_health_pages_lead_to_the_history_and_workers_may_not_see_it(client):
    client.force_login(UserFactory(roles=["supervisor"]))
    assert 'href="/drills/"' in client.get("/monitoring/").content.decode()
    client.force_login(UserFactory(roles=["worker"]))
    assert client.get("/drills/").status_code == 403


@pytest.mark.django_db
def test_the_demo_records_a_few_runs_once():
    demo.load(StringIO())
    demo.load(StringIO())

    runs = list(DrillRun.objects.order_by("started_at"))
    assert len(runs) == len(demo.DEMO_RUNS)
    assert [run.passed for run in runs] == [False, False, True]
    assert runs[0].figures["warnings"] == ["queue_growing"]
    assert runs[1].figures["warnings"] == ["db_pool_exhausted"]
