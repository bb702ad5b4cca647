"""The drill's warnings: what limited it (database connections, web workers, Celery, the
machine) and what to change; none on a healthy run."""

from drills.load.limits import find_limits

STACK = {"web_workers": 4, "threads": 4, "worker_concurrency": 2, "conn_max_age": 60, "cores": 2}


def _samples(seconds=60, **overrides):
    """A healthy steady state, with ``overrides`` as functions of t."""
    rows = []
    for t in range(seconds):
        sample = {
            "t": float(t),
            "cpu_percent": 35.0,
            "proc_cpu": {"gunicorn-1": 20.0, "gunicorn-2": 25.0, "gunicorn-master": 0.5,
                         "celery": 10.0, "postgres": 8.0, "redis": 1.0},
            "db_connections": 12,
            "db_active": 2,
            "db_max_connections": 97,
            "queue_depth": t % 3,
        }  # fmt: skip
        for key, value in overrides.items():
            if key.startswith("proc_cpu_"):
                sample["proc_cpu"] = {**sample["proc_cpu"], key[9:]: value(t)}
            else:
                sample[key] = value(t)
        rows.append(sample)
    return rows


def _report(samples, rps=11.0, mean_ms=40.0, failures=()):
    return {
        "samples": samples,
        "total": {"rps": rps, "mean_ms": mean_ms},
        "failures": list(failures),
        "ramp_up": {},
    }


def _codes(report, stack=STACK):
    return [w["code"] for w in find_limits(report, stack)]


def test_a_healthy_run_warns_of_nothing():
    assert _codes(_report(_samples())) == []


def test_connections_near_the_servers_limit_warn_with_the_value_to_set():
    samples = _samples(db_connections=lambda t: 80 if t > 30 else 20)

    [warning] = find_limits(_report(samples), STACK)

    assert warning["code"] == "db_pool_exhausted"
    assert warning["params"]["peak"] == 80 and warning["params"]["usable"] == 97
    assert "max_connections" in warning["change"]
    assert f"at least {warning['params']['needed']}" in warning["change"]
    assert warning["params"]["needed"] >= 100


def test_refused_connections_warn_even_below_the_peak():
    failures = [{"name": "GET /", "error": "FATAL: sorry, too many clients already"}]

    assert _codes(_report(_samples(), failures=failures)) == ["db_pool_exhausted"]


def test_a_configuration_that_can_open_more_connections_than_allowed_warns():
    big = {**STACK, "web_workers": 8, "threads": 16}  # 128 threads + 2 + 5 > 97

    [warning] = find_limits(_report(_samples()), big)

    assert warning["code"] == "db_pool_too_small"
    assert warning["params"]["possible"] == 135
    assert "DATABASE_CONN_MAX_AGE=60" in warning["message"]
    # Without persistent connections the threads do not hold one each.
    assert _codes(_report(_samples()), {**big, "conn_max_age": 0}) == []


def test_every_thread_busy_asks_for_more_threads_while_the_cpu_has_room():
    report = _report(_samples(), rps=30.0, mean_ms=500.0)  # 15 in flight for 16 threads

    [warning] = find_limits(report, STACK)

    assert warning["code"] == "web_threads_busy"
    assert "--threads 8" in warning["change"]


def test_a_saturated_web_worker_asks_for_more_workers_or_cores():
    spare = _samples(**{"proc_cpu_gunicorn-1": lambda t: 95.0})

    [warning] = find_limits(_report(spare), STACK)

    assert warning["code"] == "web_workers_cpu"
    assert "--workers from 4 to 5" in warning["change"]

    busy = _samples(cpu_percent=lambda t: 97.0, **{"proc_cpu_gunicorn-1": lambda t: 95.0})
    codes = _codes(_report(busy))
    assert codes == ["web_workers_cpu", "machine_cpu"]
    assert "More cores" in find_limits(_report(busy), STACK)[0]["change"]


def test_a_growing_celery_queue_asks_for_more_concurrency_and_a_steady_one_does_not():
    growing = _samples(queue_depth=lambda t: 5 * t)

    [warning] = find_limits(_report(growing), STACK)

    assert warning["code"] == "queue_growing"
    assert warning["params"] == {"first": 48, "last": 295, "concurrency": 2, "target": 4}
    assert "--concurrency from 2 to 4" in warning["change"]
    steady_high = _samples(queue_depth=lambda t: 200 + t % 5)
    assert _codes(_report(steady_high)) == []
    no_broker = _samples(queue_depth=lambda t: None)
    assert _codes(_report(no_broker)) == []


def test_the_ramp_up_is_left_out():
    samples = _samples(cpu_percent=lambda t: 100.0 if t < 25 else 30.0)
    report = {**_report(samples), "ramp_up": {"seconds_to_all_users": 5}}

    assert _codes(report) == []
    assert _codes({**report, "ramp_up": {}}) == []  # 25 of 60 s at 100 %: mean 59 %
