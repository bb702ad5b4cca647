"""The fault drill's console summary, and the load's totals from Locust's CSV."""

from __future__ import annotations

import json
from pathlib import Path

from drills.fault.verdict import verdict
from drills.load.results import read_stats


def load_totals(work: Path) -> dict:
    rows, total = read_stats(work / "locust")
    return {
        "requests": total.get("requests", 0),
        "failures": total.get("failures", 0),
        "endpoints": [
            {k: row[k] for k in ("name", "requests", "failures")} for row in rows if row["requests"]
        ],
    }


def print_report(report: dict) -> None:
    line = "-" * 100
    print(line)
    print(
        f"Fault drill {report['started']}  broker: {report.get('broker', 'redis')}  "
        f"({report['command']})"
    )
    print(line)
    for fault in report["faults"]:
        print(f"{fault['fault']:9} {fault['what']}; recovered in {fault['recovered_in_s']} s")
    load = report["load"]
    print(
        f"load: {load['requests']} requests, {load['failures']} failed during the faults; "
        f"keys {report['integrity']['sent']} ({json.dumps(report['integrity']['by_kind'])}); "
        f"drain {report['drain']['seconds']} s"
    )
    print(line)
    for check in report["checks"]:
        print(f"{verdict(check)}  {check['check']}")
        print(f"      {check['got']}")
    print(line)
    print(f"VERDICT: {'PASS' if report['pass'] else 'FAIL'}  ({report['seconds']:.0f} s)")
    print(line)
