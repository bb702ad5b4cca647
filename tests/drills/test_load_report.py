"""The load drill's verdict, its results read back from Locust, and its report with curves."""

import csv
import re
from datetime import UTC, datetime

import pytest

from drills.demo import demo_report
from drills.load.charts import Series, nice_step, svg_chart
from drills.load.report import html_report, print_report
from drills.load.results import (
    DEFAULT_BUDGETS,
    endpoint_kind,
    judge,
    read_history,
    read_stats,
    resource_peaks,
)

STARTED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def _entry(name, p95, requests=100, failures=0):
    return {
        "name": name,
        "kind": endpoint_kind(name),
        "requests": requests,
        "failures": failures,
        "p95_ms": p95,
        "error_rate": failures / requests if requests else 0.0,
    }


@pytest.mark.parametrize(
    ("name", "p95", "passes"),
    [
        ("GET /work-orders/", 299.0, True),
        ("GET /work-orders/", 300.0, False),
        ("POST floor accept", 149.0, True),
        ("POST floor accept", 150.0, False),
        ("POST /api/v1/movements/", 151.0, False),
        ("POST inbound purchase_receipts (bulk 200)", 3000.0, True),  # no budget
    ],
)
def test_each_budget_passes_below_its_limit_and_fails_at_it(name, p95, passes):
    total = _entry("Aggregated", 50.0, requests=1000)

    verdict = judge([_entry(name, p95)], total, None, DEFAULT_BUDGETS)

    assert verdict["pass"] is passes
    budgeted = [c for c in verdict["checks"] if c["kind"] == "p95"]
    assert len(budgeted) == (0 if endpoint_kind(name) == "integration" else 1)


def test_the_error_rate_and_the_integrity_check_decide_too():
    ok_total = _entry("Aggregated", 50.0, requests=10_000, failures=9)
    bad_total = _entry("Aggregated", 50.0, requests=10_000, failures=10)
    integrity = {"applied_once": 5, "refused_not_applied": 0, "no_answer": 0, "problems": 0,
                 "ledger_drift": 0, "ok": True}  # fmt: skip

    assert judge([], ok_total, integrity, DEFAULT_BUDGETS)["pass"]
    assert not judge([], bad_total, integrity, DEFAULT_BUDGETS)["pass"]
    lost = {**integrity, "problems": 1, "ok": False}
    verdict = judge([], ok_total, lost, DEFAULT_BUDGETS)
    assert not verdict["pass"]
    assert [c["kind"] for c in verdict["checks"] if not c["pass"]] == ["integrity"]
    assert not judge([], {}, None, DEFAULT_BUDGETS)["pass"]  # no requests at all


def _write_locust_csv(prefix, rows):
    columns = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%",
               "95%", "99%", "Total Average Response Time"]  # fmt: skip
    with open(f"{prefix}_stats_history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(zip(columns, row, strict=True)))


def test_the_history_has_percentiles_rate_and_errors_on_the_samplers_time_axis(tmp_path):
    prefix = tmp_path / "drill-locust"
    _write_locust_csv(
        prefix,
        [
            (1000, 10, "", "Aggregated", 4.0, 0.0, 20, 80, 120, 30),
            (1000, 10, "GET", "GET /", 1.0, 0.0, 10, 20, 30, 12),
            (1001, 20, "", "Aggregated", 10.0, 1.0, 25, 90, 200, 35),
            (1002, 20, "", "Aggregated", "N/A", 0.0, "N/A", "N/A", "N/A", 35),
        ],
    )

    history = read_history(prefix, origin=998.0)

    assert [h["t"] for h in history] == [2.0, 3.0, 4.0]
    assert history[1] == {"t": 3.0, "users": 20, "rps": 10.0, "p50_ms": 25.0, "p95_ms": 90.0,
                          "p99_ms": 200.0, "failures_s": 1.0, "error_rate": 0.1}  # fmt: skip
    assert history[2]["rps"] == 0.0 and history[2]["error_rate"] == 0.0
    assert read_history(tmp_path / "missing") == []
    assert read_stats(tmp_path / "missing") == ([], {})


def test_resource_peaks_summarise_each_process():
    samples = [
        {"t": 1.0, "cpu_percent": 40.0, "proc_cpu": {"gunicorn-1": 50.0, "redis": 1.0},
         "proc_rss_mb": {"gunicorn-1": 150.0, "redis": 10.0}, "db_connections": 7,
         "db_max_connections": 97, "queue_depth": 3},
        {"t": 2.0, "cpu_percent": 60.0, "proc_cpu": {"gunicorn-1": 70.0, "redis": 3.0},
         "proc_rss_mb": {"gunicorn-1": 160.0, "redis": 10.0}, "db_connections": 9,
         "db_max_connections": 97, "queue_depth": None},
    ]  # fmt: skip

    peaks = resource_peaks(samples)

    assert peaks["cpu_percent_mean"] == 50.0
    assert peaks["db_connections_max"] == 9 and peaks["db_max_connections"] == 97
    assert peaks["queue_depth_max"] == 3
    assert peaks["processes"]["gunicorn-1"] == {"cpu_mean": 60.0, "cpu_max": 70.0,
                                                "rss_mb_max": 160.0}  # fmt: skip


def test_a_chart_has_a_line_per_series_axes_and_a_legend_and_escapes_labels():
    chart = svg_chart(
        "Response <time>",
        [Series("p50", [(0, 10), (60, 20)]), Series("p95 & more", [(0, 50), (60, 90)]),
         Series("empty", [])],
        unit="ms",
    )  # fmt: skip

    assert chart.count("<polyline") == 2
    assert "Response &lt;time&gt;" in chart and "p95 &amp; more" in chart
    assert "empty" not in chart  # a series without points has no line nor legend entry
    assert ">60<" in chart  # the x axis' last tick
    assert ">100<" in chart  # the y axis rounded up above the highest point
    assert "<script" not in chart and "style=" not in chart
    assert "no data" in svg_chart("Nothing", [Series("x", [])])
    assert nice_step(100, 5) == 20 and nice_step(7, 4) == 2


def test_the_html_report_holds_the_verdict_the_warnings_and_every_curve():
    report = demo_report(STARTED, p95_ms=240.0, cpu=67.0, queue_growth=6.0, connections=40)

    page = html_report(report)

    assert "<h1>Load drill: FAIL</h1>" in page
    for title in ("Response time, all requests", "Requests per second", "Error rate",
                  "CPU per process (percent of one core)", "Memory per process (RSS)",
                  "Machine CPU (percent of all cores)", "Database connections",
                  "Celery queue depth"):  # fmt: skip
        assert f"<figcaption>{title}</figcaption>" in page.replace("&#x27;", "'")
    assert page.count("<svg") == 8
    for series in ("p50", "p95", "p99", "gunicorn-1", "celery", "postgres", "redis",
                   "PostgreSQL allows"):  # fmt: skip
        assert series in page
    assert "Raise <code>max_connections</code> in <code>postgresql.conf</code> to at least" in page
    assert "Raise the worker&#x27;s <code>--concurrency</code> from 2 to 4" in page
    assert "http://" not in re.sub(r"xmlns='http://www.w3.org/2000/svg'", "", page)


def test_the_console_report_prints_the_warnings_and_the_verdict(capsys):
    report = demo_report(STARTED, p95_ms=95.0, cpu=38.0, connections=44)
    report["integrity"] = None

    print_report(report)

    out = capsys.readouterr().out
    assert "WARN  Database connections are the limit" in out
    assert "VERDICT: PASS" in out


def test_the_machine_cpu_decides_when_the_stack_ran_here():
    total = _entry("Aggregated", 50.0, requests=1000)

    assert judge([], total, None, DEFAULT_BUDGETS, machine_cpu=39.9)["pass"]
    verdict = judge([], total, None, DEFAULT_BUDGETS, machine_cpu=40.0)
    assert not verdict["pass"]
    (cpu,) = [c for c in verdict["checks"] if c["kind"] == "machine_cpu"]
    assert cpu["got"] == "40.0 %" and cpu["limit"] == 40.0
    # Against a stack elsewhere this machine runs the load alone: no CPU check.
    assert [c["kind"] for c in judge([], total, None, DEFAULT_BUDGETS)["checks"]] == ["error_rate"]
