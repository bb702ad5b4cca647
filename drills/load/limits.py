"""What limited the drill: the database connections, the web workers, the Celery worker, the
machine; each warning says which setting to change, and to what.

``find_limits(report, stack)`` reads the samples (``sampler.py``) of the steady
state and Locust's totals; ``stack`` is what the stack ran with (``stack_config``).
A warning is ``{"code", "message", "change", "params"}``: ``message`` and
``change`` are English (the console, the JSON); the pages render ``code`` with
``params`` in the reader's language (``drills/presenters.py``).
"""

from __future__ import annotations

import math
import os

from drills.load.options import SETTLE_SECONDS

# A share of a limit above which it counts as reached.
NEAR = 0.8
# A CPU share (of one core, per process; of all cores, the machine) that counts as saturated.
SATURATED = 80.0
MACHINE_SATURATED = 85.0
# The queue counts as growing when its last third averages this many tasks more than its
# first third, and it ends at least at QUEUE_BACKLOG.
QUEUE_GROWTH = 20
QUEUE_BACKLOG = 50
# Connections apart from the web and the Celery worker: beat, the drill's sampler, a shell.
OTHER_CONNECTIONS = 5


def stack_config(options, conn_max_age: int | None) -> dict:
    """The figures the warnings compare the samples with."""
    return {
        "web_workers": options.web_workers,
        "threads": options.threads,
        "worker_concurrency": options.worker_concurrency,
        "conn_max_age": conn_max_age,
        "cores": os.cpu_count(),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def steady_samples(report: dict) -> list[dict]:
    """The samples after the ramp-up (every user started, plus the settling time)."""
    samples = report.get("samples") or []
    ramp = report.get("ramp_up") or {}
    if "seconds_to_all_users" not in ramp:
        return samples
    start = ramp["seconds_to_all_users"] + SETTLE_SECONDS
    steady = [s for s in samples if s["t"] >= start]
    return steady or samples


def machine_cpu(samples: list[dict]) -> float:
    """The machine's mean CPU (% of all cores) over ``samples``."""
    return _mean([s["cpu_percent"] for s in samples])


def find_limits(report: dict, stack: dict) -> list[dict]:
    samples = steady_samples(report)
    warnings: list[dict] = []
    for check in (_database, _web_threads, _web_cpu, _machine, _queue):
        warnings.extend(check(report, samples, stack))
    return warnings


def _warning(code: str, message: str, change: str, **params) -> dict:
    return {"code": code, "message": message, "change": change, "params": params}


def _database(report: dict, samples: list[dict], stack: dict) -> list[dict]:
    usable = max((s.get("db_max_connections") or 0 for s in samples), default=0)
    if not usable:
        return []
    peak = max((s.get("db_connections") or 0 for s in samples), default=0)
    web = stack["web_workers"] * stack["threads"]
    # With CONN_MAX_AGE > 0 each gunicorn thread and Celery process keeps its connection.
    possible = web + stack["worker_concurrency"] + OTHER_CONNECTIONS
    refused = any(
        "too many clients" in f.get("error", "") or "connection slots" in f.get("error", "")
        for f in report.get("failures") or []
    )
    warnings = []
    if refused or peak >= NEAR * usable:
        needed = math.ceil(max(peak, possible) * 1.25)
        warnings.append(
            _warning(
                "db_pool_exhausted",
                f"Database connections are the limit: up to {peak} of the {usable} PostgreSQL "
                "allows" + (", and connections were refused" if refused else "") + ".",
                f"Raise max_connections in postgresql.conf to at least {needed} (restart "
                "PostgreSQL), or lower gunicorn workers x threads, or put PgBouncer "
                "(transaction pooling) in front with DATABASE_CONN_MAX_AGE=0.",
                peak=peak,
                usable=usable,
                needed=needed,
                refused=refused,
            )
        )
    elif possible > usable and (stack.get("conn_max_age") or 0) > 0:
        needed = math.ceil(possible * 1.25)
        warnings.append(
            _warning(
                "db_pool_too_small",
                f"At full load the stack may hold {possible} connections ({stack['web_workers']} "
                f"gunicorn workers x {stack['threads']} threads, {stack['worker_concurrency']} "
                f"Celery processes, beat and tools, each kept for DATABASE_CONN_MAX_AGE="
                f"{stack['conn_max_age']} s) but PostgreSQL allows {usable}.",
                f"Raise max_connections to at least {needed}, or lower the web concurrency.",
                possible=possible,
                usable=usable,
                needed=needed,
                conn_max_age=stack["conn_max_age"],
            )
        )
    return warnings


def _web_threads(report: dict, samples: list[dict], stack: dict) -> list[dict]:
    """Requests in flight over the steady state (Little's law: rate x mean time) against
    the threads gunicorn has: near them, requests wait for a free thread."""
    total = report.get("total") or {}
    threads = stack["web_workers"] * stack["threads"]
    in_flight = total.get("rps", 0.0) * total.get("mean_ms", 0.0) / 1000
    if not threads or in_flight < NEAR * threads:
        return []
    cpu = _gunicorn_cpu(samples)
    spare = cpu < SATURATED
    suggestion = (
        f"--threads {stack['threads'] * 2}" if spare else f"--workers {stack['web_workers'] + 1}"
    )
    return [
        _warning(
            "web_threads_busy",
            f"Every gunicorn thread is busy: {in_flight:.1f} requests in flight on average "
            f"for {threads} threads ({stack['web_workers']} workers x {stack['threads']}).",
            f"Raise gunicorn's {suggestion} (make drill: --web-workers / --threads; "
            "production: the web command in docker-compose.yml, WEB_CONCURRENCY under "
            "make run)"
            + ("" if spare else ", if the machine has idle cores; else more cores")
            + ".",
            in_flight=round(in_flight, 1),
            threads=threads,
            suggestion=suggestion,
        )
    ]


def _gunicorn_cpu(samples: list[dict]) -> float:
    """The mean CPU (% of one core) of the busiest gunicorn worker."""
    names = {n for s in samples for n in s.get("proc_cpu", {}) if n[-1].isdigit()}
    names = {n for n in names if n.startswith("gunicorn-")}
    means = [
        _mean([s["proc_cpu"][n] for s in samples if n in s.get("proc_cpu", {})]) for n in names
    ]
    return max(means, default=0.0)


def _web_cpu(report: dict, samples: list[dict], stack: dict) -> list[dict]:
    busiest = _gunicorn_cpu(samples)
    if busiest < SATURATED:
        return []
    machine = machine_cpu(samples)
    workers = stack["web_workers"]
    cores = stack.get("cores") or 1
    if machine < MACHINE_SATURATED:
        target = max(workers + 1, min(2 * cores + 1, workers * 2))
        change = (
            f"Raise gunicorn's --workers from {workers} to {target}: a worker runs Python on "
            "one core at a time, and the machine has idle CPU."
        )
    else:
        target = workers
        change = "More cores: the machine is saturated too, more workers would not help."
    return [
        _warning(
            "web_workers_cpu",
            f"A gunicorn worker used {busiest:.0f} % of a core on average: the web workers are "
            "the limit.",
            change,
            cpu=round(busiest),
            workers=workers,
            target=target,
            machine=round(machine),
        )
    ]


def _machine(report: dict, samples: list[dict], stack: dict) -> list[dict]:
    machine = machine_cpu(samples)
    if machine < MACHINE_SATURATED:
        return []
    return [
        _warning(
            "machine_cpu",
            f"The machine's CPU was {machine:.0f} % busy on average in the steady state.",
            "More cores, or move PostgreSQL (or the load generator) to another machine; "
            "adding workers on this one would not help.",
            cpu=round(machine),
        )
    ]


def _queue(report: dict, samples: list[dict], stack: dict) -> list[dict]:
    depths = [s["queue_depth"] for s in samples if s.get("queue_depth") is not None]
    if len(depths) < 6:
        return []
    third = len(depths) // 3
    first, last = _mean(depths[:third]), _mean(depths[-third:])
    if last - first < QUEUE_GROWTH or depths[-1] < QUEUE_BACKLOG:
        return []
    concurrency = stack["worker_concurrency"]
    celery = _mean([s.get("proc_cpu", {}).get("celery", 0.0) for s in samples])
    return [
        _warning(
            "queue_growing",
            f"The Celery queue grew from {first:.0f} to {depths[-1]} tasks: the worker "
            "does not keep up.",
            f"Raise the worker's --concurrency from {concurrency} to {concurrency * 2} "
            "(make drill: --worker-concurrency; production: WORKER_CONCURRENCY, or the worker "
            "command in docker-compose.yml), or start a second worker"
            + (" on another machine: this one is busy" if celery >= SATURATED * concurrency else "")
            + ".",
            first=round(first),
            last=depths[-1],
            concurrency=concurrency,
            target=concurrency * 2,
        )
    ]
