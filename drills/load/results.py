"""The load drill's results: Locust's CSV files read back, resource peaks, the verdict."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings

from drills.load.options import SETTLE_SECONDS

SCAN_PREFIXES = ("POST floor ", "POST /api/v1/floor/", "POST /api/v1/movements/")
# settings.DRILL_BUDGETS overrides any of them.
# The machine's mean CPU in the steady state: the plant's pace must leave most of the
# machine idle, or a busier day (or a slow query) leaves no margin.
DEFAULT_BUDGETS = {
    "page_p95_ms": 300.0,
    "scan_p95_ms": 150.0,
    "error_rate": 0.001,
    "machine_cpu_percent": 40.0,
}


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def endpoint_kind(name: str) -> str:
    if name.startswith("GET ") or name == "POST /accounts/login/":
        return "page"
    if name.startswith(SCAN_PREFIXES):
        return "scan"
    return "integration"


def read_stats(csv_prefix: Path) -> tuple[list[dict], dict]:
    rows, total = [], {}
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.exists():
        return rows, total
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            count = int(_number(row["Request Count"]))
            entry = {
                "name": row["Name"],
                "kind": endpoint_kind(row["Name"]) if row["Name"] != "Aggregated" else "all",
                "requests": count,
                "failures": int(_number(row["Failure Count"])),
                "rps": round(_number(row["Requests/s"]), 2),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "max_ms": round(_number(row["Max Response Time"]), 1),
                "mean_ms": round(_number(row["Average Response Time"]), 1),
            }
            entry["error_rate"] = round(entry["failures"] / count, 5) if count else 0.0
            if row["Name"] == "Aggregated":
                total = entry
            else:
                rows.append(entry)
    return rows, total


def read_history(csv_prefix: Path, origin: float | None = None) -> list[dict]:
    """Locust's row per second for all requests: percentiles of the last seconds, the rate,
    the errors.

    ``t`` counts from ``origin`` (a Unix time: the sampler's start, so the curves of
    the load and of the machine share their time axis), else from the first row."""
    path = Path(f"{csv_prefix}_stats_history.csv")
    if not path.exists():
        return []
    history = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != "Aggregated":
                continue
            stamp = int(row["Timestamp"])
            origin = origin if origin is not None else stamp
            rps = _number(row["Requests/s"])
            failures = _number(row["Failures/s"])
            history.append(
                {
                    "t": round(stamp - origin, 1),
                    "users": int(_number(row["User Count"])),
                    "rps": rps,
                    "p50_ms": _number(row["50%"]),
                    "p95_ms": _number(row["95%"]),
                    "p99_ms": _number(row["99%"]),
                    "failures_s": failures,
                    "error_rate": round(failures / rps, 5) if rps else 0.0,
                }
            )
    return history


def ramp_up_summary(history: list[dict], users: int, window: float = SETTLE_SECONDS) -> dict:
    """How the ramp-up went, from every user's start until the statistics restart
    (``SETTLE_SECONDS`` after the last one started)."""
    full = next((h["t"] for h in history if h["users"] >= users), None)
    if full is None:
        return {}
    rows = [h for h in history if h["t"] <= full + window]
    return {
        "seconds_to_all_users": full,
        "p95_ms_max": max((h["p95_ms"] for h in rows), default=0.0),
        "rps_max": max((h["rps"] for h in rows), default=0.0),
    }


def read_failures(csv_prefix: Path) -> list[dict]:
    path = Path(f"{csv_prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            {"name": row["Name"], "error": row["Error"][:300], "occurrences": row["Occurrences"]}
            for row in csv.DictReader(handle)
        ][:20]


def resource_peaks(samples: list[dict]) -> dict:
    def peak(name: str) -> float | None:
        values = [s[name] for s in samples if s.get(name) is not None]
        return max(values) if values else None

    cpu = [s["cpu_percent"] for s in samples]
    return {
        "cpu_percent_max": peak("cpu_percent"),
        "cpu_percent_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "memory_used_mb_max": peak("memory_used_mb"),
        "disk_write_mb_s_max": peak("disk_write_mb_s"),
        "disk_read_mb_s_max": peak("disk_read_mb_s"),
        "disk_used_percent_max": peak("disk_used_percent"),
        "db_connections_max": peak("db_connections"),
        "db_active_max": peak("db_active"),
        "db_connections_all_max": peak("db_connections_all"),
        "db_max_connections": peak("db_max_connections"),
        "queue_depth_max": peak("queue_depth"),
        "processes": process_summary(samples),
    }


def process_summary(samples: list[dict]) -> dict[str, dict]:
    """Per process: mean and peak CPU (% of one core), peak memory (MB)."""
    summary: dict[str, dict] = {}
    for name in sorted({n for s in samples for n in s.get("proc_cpu", {})}):
        cpu = [s["proc_cpu"][name] for s in samples if name in s.get("proc_cpu", {})]
        rss = [s["proc_rss_mb"][name] for s in samples if name in s.get("proc_rss_mb", {})]
        summary[name] = {
            "cpu_mean": round(sum(cpu) / len(cpu), 1),
            "cpu_max": max(cpu),
            "rss_mb_max": max(rss) if rss else None,
        }
    return summary


def budgets() -> dict:
    return {**DEFAULT_BUDGETS, **getattr(settings, "DRILL_BUDGETS", {})}


def judge(
    endpoints: list[dict],
    total: dict,
    integrity: dict | None,
    limits: dict,
    machine_cpu: float | None = None,
) -> dict:
    """PASS when every check passes. Each check has an English line (``check``,
    ``got``) and its parts (``kind``, ``name``, ``limit``, ``value``) for the pages.
    ``machine_cpu`` is the mean CPU of the machine the stack ran on (``None``: not
    measured, as for a stack elsewhere)."""
    checks = []
    for entry in endpoints:
        limit = {"page": limits["page_p95_ms"], "scan": limits["scan_p95_ms"]}.get(entry["kind"])
        if limit is not None and entry["requests"]:
            checks.append(
                {
                    "kind": "p95",
                    "name": entry["name"],
                    "limit": limit,
                    "value": entry["p95_ms"],
                    "check": f"p95 {entry['name']} < {limit:.0f} ms",
                    "got": f"{entry['p95_ms']:.0f} ms",
                    "pass": entry["p95_ms"] < limit,
                }
            )
    rate = total.get("error_rate", 1.0) if total else 1.0
    checks.append(
        {
            "kind": "error_rate",
            "name": "",
            "limit": limits["error_rate"],
            "value": rate,
            "check": f"error rate < {limits['error_rate']:.2%}",
            "got": f"{rate:.3%} ({total.get('failures', 0)} of {total.get('requests', 0)})",
            "pass": bool(total) and rate < limits["error_rate"],
        }
    )
    if integrity is not None:
        checks.append(
            {
                "kind": "integrity",
                "name": "",
                "limit": 0,
                "value": integrity["problems"] + integrity["ledger_drift"],
                "check": "nothing lost: ledger = balances, each scan applied exactly once",
                "got": (
                    f"{integrity['applied_once']} applied once, "
                    f"{integrity['refused_not_applied']} refused and not applied, "
                    f"{integrity['no_answer']} without answer, {integrity['problems']} problems, "
                    f"{integrity['ledger_drift']} drifted balances"
                ),
                "pass": integrity["ok"],
            }
        )
    if machine_cpu is not None:
        limit = limits["machine_cpu_percent"]
        checks.append(
            {
                "kind": "machine_cpu",
                "name": "",
                "limit": limit,
                "value": machine_cpu,
                "check": f"mean CPU of the machine < {limit:.0f} %",
                "got": f"{machine_cpu:.1f} %",
                "pass": machine_cpu < limit,
            }
        )
    return {"checks": checks, "pass": all(check["pass"] for check in checks)}
