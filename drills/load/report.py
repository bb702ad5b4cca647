"""The load drill's report: an HTML page with inline SVG charts, and the console summary."""

from __future__ import annotations

import json

from django.template.loader import render_to_string

from drills.presenters import report_context


def html_report(report: dict) -> str:
    """The report as a page of its own (English unless a language is active)."""
    return render_to_string("drills/report_file.html", report_context(report))


def print_report(report: dict) -> None:
    line = "-" * 96
    print(line)
    print(
        f"Load drill {report['started']}  {report['options']['users']} users, "
        f"{report['options']['duration']} s, {report['machine']['cores']} cores"
    )
    print(line)
    print(
        f"{'endpoint':48} {'kind':6} {'reqs':>6} {'req/s':>6} {'p50':>6} {'p95':>6} "
        f"{'p99':>6} {'err':>7}"
    )
    for e in [*report["endpoints"], report["total"]]:
        if e:
            print(
                f"{e['name'][:48]:48} {e['kind']:6} {e['requests']:6d} {e['rps']:6.1f} "
                f"{e['p50_ms']:6.0f} {e['p95_ms']:6.0f} {e['p99_ms']:6.0f} {e['error_rate']:7.3%}"
            )
    print(line)
    print("resources: " + json.dumps(report["resources"]))
    print("cpu by part, % of all cores: " + json.dumps(report.get("cpu_percent_by_part")))
    print("ramp-up (not in the verdict): " + json.dumps(report.get("ramp_up")))
    if report["integrity"]:
        print(
            "checked: "
            + json.dumps({k: v for k, v in report["integrity"].items() if "samples" not in k})
        )
    for failure in report["failures"][:5]:
        print(f"failure: {failure['occurrences']}x {failure['name']}: {failure['error']}")
    for warning in report.get("warnings") or []:
        print(f"WARN  {warning['message']}\n      change: {warning['change']}")
    print(line)
    for check in report["verdict"]["checks"]:
        print(f"{'PASS' if check['pass'] else 'FAIL'}  {check['check']}  (got {check['got']})")
    print(f"VERDICT: {'PASS' if report['verdict']['pass'] else 'FAIL'}")
    print(line)
