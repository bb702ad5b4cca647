"""A drill's report as the pages show it: the verdict, the warnings, the curves over time.

The same context renders the report file the drill writes (English:
``drills/load/report.py``) and the run's page in the app (the reader's
language): the texts are built here with ``gettext`` from the report's
figures, never taken from the English lines stored in it.
"""

from __future__ import annotations

import json
import re

from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from drills.load.charts import Series, svg_chart

# The warnings of drills/load/limits.py: (what happened, what to change), formatted with
# the warning's params.
WARNING_TEXTS = {
    "db_pool_exhausted": (
        gettext_lazy(
            "Database connections are the limit: up to %(peak)s of the %(usable)s that "
            "PostgreSQL allows were in use."
        ),
        gettext_lazy(
            "Raise max_connections in postgresql.conf to at least %(needed)s (restart "
            "PostgreSQL), or lower gunicorn workers x threads, or put PgBouncer (transaction "
            "pooling) in front with DATABASE_CONN_MAX_AGE=0."
        ),
    ),
    "db_pool_too_small": (
        gettext_lazy(
            "At full load the stack may hold %(possible)s database connections (each gunicorn "
            "thread and Celery process keeps its own for "
            "DATABASE_CONN_MAX_AGE=%(conn_max_age)s s), but PostgreSQL allows %(usable)s."
        ),
        gettext_lazy("Raise max_connections to at least %(needed)s, or lower the web concurrency."),
    ),
    "web_threads_busy": (
        gettext_lazy(
            "Every gunicorn thread was busy: %(in_flight)s requests in flight on average for "
            "%(threads)s threads."
        ),
        gettext_lazy(
            "Raise gunicorn's %(suggestion)s (the drill: --web-workers / --threads; "
            "production: the web command in docker-compose.yml, WEB_CONCURRENCY under make "
            "run)."
        ),
    ),
    "web_workers_cpu": (
        gettext_lazy(
            "A gunicorn worker used %(cpu)s %% of a core on average: the web workers are the "
            "limit (the machine: %(machine)s %%)."
        ),
        gettext_lazy(
            "Raise gunicorn's --workers from %(workers)s to %(target)s: the machine has idle CPU."
        ),
    ),
    "machine_cpu": (
        gettext_lazy("The machine's CPU was %(cpu)s %% busy on average in the steady state."),
        gettext_lazy(
            "More cores, or move PostgreSQL (or the load generator) to another machine; adding "
            "workers on this one would not help."
        ),
    ),
    "queue_growing": (
        gettext_lazy(
            "The Celery queue grew from %(first)s to %(last)s tasks: the worker does not keep up."
        ),
        gettext_lazy(
            "Raise the worker's --concurrency from %(concurrency)s to %(target)s (the drill: "
            "--worker-concurrency; production: WORKER_CONCURRENCY or the worker command in "
            "docker-compose.yml), or start a second worker."
        ),
    ),
}
# web_workers_cpu when the machine is saturated too (its target is the current count).
MORE_CORES = gettext_lazy("More cores: the machine is saturated too, more workers would not help.")


# Settings, options, commands and programs a warning names: shown as code.
CODE_WORDS = re.compile(
    r"(--[a-z][\w-]*(?: \d+)?|\b[A-Z][A-Z_]{2,}\b(?:=\S+)?|\bmax_connections\b"
    r"|\bmake (?:run|drill)\b|\bgunicorn\b|\bPgBouncer\b|\bdocker-compose\.yml\b"
    r"|\bpostgresql\.conf\b)"
)


def as_code(text: str) -> SafeString:
    """``text`` escaped, with the settings and commands it names in ``<code>``."""
    return mark_safe(CODE_WORDS.sub(r"<code>\1</code>", str(escape(text))))


def warning_texts(warning: dict) -> tuple[SafeString, SafeString]:
    texts = WARNING_TEXTS.get(warning["code"])
    if texts is None:
        return as_code(warning.get("message", "")), as_code(warning.get("change", ""))
    params = warning["params"]
    message, change = texts
    if warning["code"] == "web_workers_cpu" and params.get("target") == params.get("workers"):
        change = MORE_CORES
    return as_code(str(message) % params), as_code(str(change) % params)


def _safe(template: str, **params) -> SafeString:
    """``template % params`` with the template and the text params escaped."""
    escaped = {k: conditional_escape(v) if isinstance(v, str) else v for k, v in params.items()}
    return mark_safe(str(escape(template)) % escaped)


def check_text(check: dict) -> SafeString | str:
    if check.get("kind") == "p95":
        name = mark_safe(f"<code>{escape(check['name'])}</code>")
        return _safe(_("p95 of %(name)s under %(limit).0f ms"), name=name, limit=check["limit"])
    if check.get("kind") == "error_rate":
        return _("error rate under %(limit).2f %%") % {"limit": 100 * check["limit"]}
    if check.get("kind") == "integrity":
        return _("nothing lost: ledger = balances, each scan applied exactly once")
    if check.get("kind") == "machine_cpu":
        return _("mean CPU of the machine under %(limit).0f %%") % {"limit": check["limit"]}
    return check.get("check", "")


def check_value(check: dict) -> str:
    if check.get("kind") == "p95":
        return _("%(value).0f ms") % {"value": check["value"]}
    if check.get("kind") == "error_rate":
        return f"{100 * check['value']:.3f} %"
    if check.get("kind") == "integrity":
        return _("%(count)s problems") % {"count": check["value"]}
    if check.get("kind") == "machine_cpu":
        return f"{check['value']:.1f} %"
    return check.get("got", "")


def _points(rows: list[dict], key: str, scale: float = 1.0) -> list[tuple[float, float]]:
    return [(r["t"], r[key] * scale) for r in rows if r.get(key) is not None]


def _per_process(samples: list[dict], key: str) -> list[Series]:
    names = sorted({n for s in samples for n in s.get(key, {})})
    return [
        Series(name, [(s["t"], s[key][name]) for s in samples if name in s.get(key, {})])
        for name in names
    ]


def _chart(title: str, series: list[Series], unit: str) -> str:
    return svg_chart(
        title, series, unit, x_unit=_("seconds"), no_data=_("no data"), max_label=_("max")
    )


def report_charts(report: dict) -> list[str]:
    """The curves over time, as inline SVG figures."""
    history, samples = report.get("history") or [], report.get("samples") or []
    budgets = report.get("budgets") or {}
    end = max([r["t"] for r in history] + [s["t"] for s in samples] + [1.0])
    latency = [
        Series("p50", _points(history, "p50_ms")),
        Series("p95", _points(history, "p95_ms")),
        Series("p99", _points(history, "p99_ms")),
    ]
    if budgets.get("scan_p95_ms") and history:
        limit = budgets["scan_p95_ms"]
        latency.append(Series(_("scan budget (p95)"), [(0, limit), (end, limit)], dashed=True))
    connections = [
        Series(_("connections to the drill database"), _points(samples, "db_connections")),
        Series(_("running a statement"), _points(samples, "db_active")),
        Series(_("PostgreSQL allows"), _points(samples, "db_max_connections"), dashed=True),
    ]
    charts = [
        _chart(_("Response time, all requests"), latency, "ms"),
        _chart(_("Requests per second"), [Series(_("requests/s"), _points(history, "rps"))], ""),
        _chart(_("Error rate"), [Series(_("errors"), _points(history, "error_rate", 100))], "%"),
        _chart(_("CPU per process (percent of one core)"), _per_process(samples, "proc_cpu"), "%"),
        _chart(_("Memory per process (RSS)"), _per_process(samples, "proc_rss_mb"), "MB"),
        _chart(
            _("Machine CPU (percent of all cores)"),
            [Series(_("machine"), _points(samples, "cpu_percent"))],
            "%",
        ),
        _chart(_("Database connections"), connections, ""),
        _chart(
            _("Celery queue depth"),
            [Series(_("tasks waiting"), _points(samples, "queue_depth"))],
            "",
        ),
    ]
    return [mark_safe(chart) for chart in charts]


def report_context(report: dict) -> dict:
    verdict = report.get("verdict") or {"checks": [], "pass": False}
    return {
        "report": report,
        "passed": verdict["pass"],
        "checks": [
            {"pass": c["pass"], "text": check_text(c), "value": check_value(c)}
            for c in verdict["checks"]
        ],
        "warnings": [
            dict(zip(("message", "change"), warning_texts(w), strict=True))
            for w in report.get("warnings") or []
        ],
        "endpoints": [*(report.get("endpoints") or []), *[report.get("total") or {}]],
        "processes": sorted((report.get("resources") or {}).get("processes", {}).items()),
        "charts": report_charts(report),
        **{
            f"{name}_json": json.dumps(report.get(name), indent=2, default=str)
            for name in ("resources", "integrity", "ramp_up", "failures")
        },
    }
