"""The fault drill once Django is set up for its cluster: load, faults, drain, checks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from drills.console import fault_drill_log as log
from drills.database import fresh_connection
from drills.fault.checks import outbox_check, transitions_check
from drills.fault.faults import FaultSequence
from drills.fault.options import load_seconds
from drills.fault.outage_watch import (
    OutageReceiver,
    declare_on_call_channel,
    outage_incident_reading,
    watchdog_started,
)
from drills.fault.probes import Prober, ReadinessPoller
from drills.fault.readings import (
    incidents_between,
    outbox_state,
    retry_without_dead_letters,
    unresolved_system_incidents,
)
from drills.fault.report import load_totals
from drills.fault.stack import FaultStack
from drills.fault.traffic import drain, resent_count, start_locust
from drills.load.integrity import integrity_check
from drills.load.seed import point_nodes_at, seed
from drills.processes import kill


def exercise(stack: FaultStack, options, work: Path, report: dict) -> None:
    """Start the app on the seeded data, run the faults under the load and fill ``report``."""
    fixture = prepare_data(stack, options)
    stack.outage_receiver = OutageReceiver()
    declare_on_call_channel(stack.outage_receiver.url)  # before the web: its watchdog knows it
    (work / "fixture.json").write_text(json.dumps(fixture))
    stack.start_worker()
    stack.start_beat()
    stack.start_web()
    log(f"stack up: web {stack.base_url}, worker, beat, fake ERP and WMS")
    prober = Prober(stack.base_url, fixture)
    poller = ReadinessPoller(stack.base_url)
    poller.start()
    locust = None
    try:
        locust = start_locust(options, stack.base_url, work, stack.out_dir, load_seconds(options))
        time.sleep(options.warmup)
        report["faults"] = FaultSequence(stack, options, prober).run()
        log("no new actions: draining the devices' queues and the outbox")
        report["drain"] = drain(work, 120 if not options.quick else 60)
        os.killpg(locust.pid, signal.SIGTERM)
        locust.wait(timeout=30)
        poller.stop()
        report["readyz_polls"] = len(poller.answers)
    finally:
        if locust is not None and locust.poll() is None:
            kill(locust)
        poller.stop()
    read_results(stack, work, report)


def prepare_data(stack: FaultStack, options) -> dict:
    """What the traffic needs (the load drill's ``seed``); returns the locustfile's fixture."""
    seed_options = argparse.Namespace(users=options.users, duration=int(load_seconds(options)))
    fixture = seed(seed_options)
    point_nodes_at(stack.fakes)
    retry_without_dead_letters()
    fresh_connection()
    return fixture


def read_results(stack: FaultStack, work: Path, report: dict) -> None:
    """The load's totals, the integrity, outbox and transition checks, the incidents."""
    report["load"] = load_totals(work)
    report["integrity"] = integrity_check(work / "keys.tsv")
    report["integrity"]["resent_then_applied"] = resent_count(work / "keys.tsv")
    report["outbox"] = outbox_check(stack.fakes)
    report["outbox"]["states"] = outbox_state()
    report["transitions"] = transitions_check()
    for fault in report["faults"]:  # the state the incidents ended in
        fault["incidents"] = incidents_between(*fault["window"])
        if fault["fault"] == "database":
            fault.update(outage_incident_reading(fault["window"]))
    report["watchdog_started"] = watchdog_started(stack.out_dir)
    report["unexpected_exits"] = stack.unexpected_exits
    report["unresolved_incidents"] = unresolved_system_incidents()
