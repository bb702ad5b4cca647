"""The load drill once Django is set up for its database: seed, start, load, read back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

from django.conf import settings
from django.db import connection

from drills.console import drill_log as log
from drills.cpu import CpuMeter, process_pid
from drills.load.dataset import seed_from_dataset
from drills.load.files import RunFiles
from drills.load.integrity import integrity_check
from drills.load.limits import find_limits, machine_cpu, stack_config, steady_samples
from drills.load.options import PLANT_USERS
from drills.load.results import (
    budgets,
    judge,
    ramp_up_summary,
    read_failures,
    read_history,
    read_stats,
    resource_peaks,
)
from drills.load.sampler import Sampler
from drills.load.seed import point_nodes_at, seed, wait_for_seed_deliveries
from drills.load.stack import Stack
from drills.load.traffic import run_locust, start_reconciliation


def exercise(options, report: dict, files: RunFiles) -> None:
    """Load the stack (its own, or ``--target``) and fill ``report`` with the results."""
    stack = None if options.target else Stack(options, files.out_dir)
    sampler = Sampler(options)
    try:
        if stack is None:
            base_url = options.target.rstrip("/")
            shutil.copyfile(options.fixture, files.fixture)
        else:
            base_url = start_own_stack(options, stack, files)
            sampler.watch(stack.server.process.pid, stack.worker.pid)
        report["sampling_started"] = time.time()
        sampler.start()
        load(options, report, base_url, stack, files, sampler)
    finally:
        sampler.stop()
        if stack is not None:
            log("stopping gunicorn, worker and fakes")
            stack.stop()
    report.setdefault("samples", sampler.samples)
    read_results(options, report, files)


def start_own_stack(options, stack: Stack, files: RunFiles) -> str:
    """Seed the traffic's data, start the stack on it; returns the web app's URL."""
    fixture = seed_from_dataset(options) if options.dataset else seed(options)
    files.fixture.write_text(json.dumps(fixture))
    connection.close()
    stack.start_fakes()
    point_nodes_at(stack.fakes)
    stack.start()
    wait_for_seed_deliveries()
    return stack.base_url


def load(options, report: dict, base_url: str, stack, files: RunFiles, sampler) -> None:
    """Locust for ``--duration``, the reconciliation part-way, CPU measured by part."""
    locust = run_locust(options, base_url, files.fixture, files.keys_log, files.csv_prefix)
    meter = CpuMeter(
        options.db_name,
        stack.server.process.pid if stack is not None else None,
        roots={
            "worker": stack.worker.pid if stack is not None else None,
            "locust": locust.pid,
            # What the rest of the machine spends on the drill's behalf, named apart.
            **{
                f"fake {kind}": fake.process.pid
                for kind, fake in (stack.fakes if stack else {}).items()
            },
            "redis": process_pid("redis-server"),
        },
        with_children=False,
        interval=1.0,  # the stack's processes live through the drill; the sweep is not free
    )
    try:
        time.sleep(min(options.duration / 3, 30))
        if stack is not None:
            log("reconciliation started in the background")
            start_reconciliation()
        locust.wait(timeout=options.duration + 90)
    finally:
        if locust.poll() is None:
            os.killpg(locust.pid, signal.SIGTERM)
            locust.wait(timeout=20)
    report["samples"] = sampler.stop()
    report["cpu_percent_by_part"] = meter.stop()
    report["cpu_seconds_by_part"] = meter.seconds


def read_results(options, report: dict, files: RunFiles) -> None:
    """Locust's statistics, the resources, the integrity check and the verdict."""
    report["endpoints"], report["total"] = read_stats(files.csv_prefix)
    report["history"] = read_history(files.csv_prefix, report.get("sampling_started"))
    report["ramp_up"] = ramp_up_summary(report["history"], options.users)
    report["failures"] = read_failures(files.csv_prefix)
    report["resources"] = resource_peaks(report["samples"])
    report["integrity"] = None if options.target else integrity_check(files.keys_log)
    report["budgets"] = budgets()
    # The CPU budget is the headroom at the plant's own pace, judged when the stack ran
    # here (against --target this machine runs locust alone). A larger drill (twice the
    # plant) is judged on its answers, errors and integrity.
    steady = steady_samples(report)
    at_plant_pace = options.pace == "plant" and options.users <= PLANT_USERS
    judged = steady and at_plant_pace and not options.target
    report["verdict"] = judge(
        report["endpoints"],
        report["total"],
        report["integrity"],
        report["budgets"],
        machine_cpu=round(machine_cpu(steady), 1) if judged else None,
    )
    report["stack"] = stack_config(options, settings.DATABASES["default"].get("CONN_MAX_AGE"))
    report["warnings"] = find_limits(report, report["stack"])
