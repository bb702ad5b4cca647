"""The five faults, one at a time, each followed by the wait for the stack to recover."""

from __future__ import annotations

import contextlib
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from drills.console import fault_drill_log as log
from drills.database import fresh_connection
from drills.fault.options import RECOVERY_SECONDS, erp_recovery_bound
from drills.fault.outage_watch import outage_reading
from drills.fault.probes import Prober
from drills.fault.readings import (
    erp_backlog_empty,
    erp_delivery_failures,
    erp_retry_policy,
    heartbeat_seen,
    incident_open,
    incidents_between,
    open_system_incidents,
)
from drills.fault.stack import FaultStack
from drills.processes import kill, wait_until


class FaultSequence:
    def __init__(self, stack: FaultStack, options, prober: Prober) -> None:
        self.stack = stack
        self.options = options
        self.prober = prober
        self.faults: list[dict] = []

    def run(self) -> list[dict]:
        broker = self.rabbitmq if self.stack.rabbitmq is not None else self.redis
        for fault in (self.database, broker, self.worker, self.beat, self.erp):
            settled = self.settle()
            result = fault()
            result["settled_before_s"] = round(settled, 1)
            log(
                f"{result['fault']}: recovered in {result['recovered_in_s']} s; incidents "
                + (
                    ", ".join(
                        f"{i['code']} {i['source']} {i['state']}" for i in result["incidents"]
                    )
                    or "none"
                )
            )
            self.faults.append(result)
        return self.faults

    def settle(self) -> float:
        """Before the next fault: every process back and no system incident open."""

        def healthy() -> bool:
            self.stack.supervise("the pause between faults")
            fresh_connection()
            return self.prober.ready() and not open_system_incidents().exists()

        return wait_until(healthy, 90, "the stack to be healthy again", 1.0)

    def database(self) -> dict:
        fault = {"fault": "database", "what": "PostgreSQL stopped (fast shutdown), then started"}
        started = datetime.now(UTC)
        log(f"fault 1/5: stopping PostgreSQL for {self.options.outage:.0f} s")
        self.stack.postgres.stop("fast")
        samples = self._sample_outage(0.5)
        receiver = getattr(self.stack, "outage_receiver", None)
        if receiver is not None:  # the on-call notice, sent while it was down
            fault.update(outage_reading(receiver, started, datetime.now(UTC)))
        self.stack.postgres.start()
        log("PostgreSQL is back; waiting for the web app to recover by itself")
        self._recover(fault, self.prober.ready, "the API, a page and /readyz to answer 200")
        fault["samples"] = len(samples)
        for name in ("api", "page", "readyz"):
            answers = Counter(f"{s[name][0]} {s[name][1]}".strip() for s in samples)
            fault[f"{name}_answers"] = dict(answers)
            fault[f"{name}_503_sys002"] = answers.get("503 SYS-002", 0)
        self._window(fault, started)
        return fault

    def redis(self) -> dict:
        fault = {"fault": "redis", "what": "Redis stopped (its queued tasks lost), then started"}
        log(f"fault 2/5: stopping Redis for {self.options.outage:.0f} s")
        return self._broker_away(fault, self.stack.redis.stop, self.stack.redis.start)

    def rabbitmq(self) -> dict:
        fault = {
            "fault": "rabbitmq",
            "what": "RabbitMQ node stopped (its quorum queues kept on disk), then started",
        }
        log(f"fault 2/5: stopping RabbitMQ for {self.options.outage:.0f} s")
        return self._broker_away(fault, self.stack.rabbitmq.stop, self.stack.rabbitmq.start)

    def _broker_away(self, fault: dict, stop, start) -> dict:
        """The broker stopped for the outage: /readyz must say so, the API keep answering."""
        started = datetime.now(UTC)
        stop()
        samples = self._sample_outage(1.0)
        start()
        self._recover(fault, self.prober.ready, "/readyz to answer 200 again")
        fault["samples"] = len(samples)
        fault["api_answers"] = dict(Counter(str(s["api"][0]) for s in samples))
        fault["readyz_answers"] = dict(
            Counter(f"{s['readyz'][0]} {s['readyz'][1]}".strip() for s in samples)
        )
        self._window(fault, started)
        return fault

    def worker(self) -> dict:
        fault = {"fault": "worker", "what": "Celery worker SIGKILLed, then a new one started"}
        started = datetime.now(UTC)
        log(f"fault 3/5: SIGKILL the worker, {self.options.outage:.0f} s without one")
        kill(self.stack.worker, signal.SIGKILL)
        time.sleep(self.options.outage)
        self.stack.start_worker()
        restarted = datetime.now(UTC)

        def worker_heartbeat_again() -> bool:
            seen = heartbeat_seen("worker")
            return seen is not None and seen > restarted

        self._recover(fault, worker_heartbeat_again, "the new worker's heartbeat")
        self._wait_resolved(fault, "MON-003")
        self._window(fault, started)
        return fault

    def beat(self) -> dict:
        fault = {"fault": "beat", "what": "Celery beat stopped, then started"}
        started = datetime.now(UTC)
        log(f"fault 4/5: stopping beat for {self.options.outage:.0f} s")
        kill(self.stack.beat)
        stopped_at = datetime.now(UTC)
        time.sleep(self.options.outage)
        fault["heartbeat_while_stopped"] = bool(
            (heartbeat_seen("beat") or stopped_at) > stopped_at + timedelta(seconds=1)
        )
        self.stack.start_beat()
        restarted = datetime.now(UTC)

        def heartbeat_task_ran_again() -> bool:
            seen = heartbeat_seen("worker")  # the worker records it when it runs the task
            return seen is not None and seen > restarted

        self._recover(fault, heartbeat_task_ran_again, "the scheduled heartbeat task to run")
        self._wait_resolved(fault, "MON-004")
        self._window(fault, started)
        return fault

    def erp(self) -> dict:
        fault = {"fault": "erp", "what": "fake ERP stopped, then started (same port and data)"}
        started = datetime.now(UTC)
        erp = self.stack.fakes["erp"]
        log(f"fault 5/5: stopping the fake ERP for {self.options.outage:.0f} s")
        erp.stop()
        time.sleep(self.options.outage)
        fresh_connection()
        fault["failed_attempts_meanwhile"], fault["node_last_error"] = erp_delivery_failures()
        first_retry, retries = erp_retry_policy()
        fault["retry_policy"] = (
            f"first retry after {first_retry:.0f} s, doubling, {retries} retries"
        )
        fault["bound_s"] = erp_recovery_bound(self.options.outage, first_retry, retries)
        erp.start()

        def backlog_empty() -> bool:
            fresh_connection()
            return erp_backlog_empty()

        # Waits past the bound (the check fails then) rather than stopping the run.
        timeout = 2 * fault["bound_s"]
        self._recover(fault, backlog_empty, "the ERP's backlog to be delivered", timeout)
        self._window(fault, started)
        return fault

    def _sample_outage(self, interval: float) -> list[dict[str, tuple[int, str]]]:
        """What the API, a page and /readyz answer, for as long as the outage lasts."""
        samples: list[dict[str, tuple[int, str]]] = []
        deadline = time.monotonic() + self.options.outage
        while time.monotonic() < deadline:
            samples.append(self.prober.sample())
            time.sleep(interval)
        return samples

    def _recover(
        self, fault: dict, predicate, what: str, timeout: float = RECOVERY_SECONDS
    ) -> None:
        def recovered() -> bool:
            self.stack.supervise(fault["fault"])
            return predicate()

        fault["recovered_in_s"] = round(wait_until(recovered, timeout, what, 0.5), 1)

    def _window(self, fault: dict, started: datetime) -> None:
        """Incidents first seen from the fault until it recovered; their state is read
        again at the end of the run."""
        fault["window"] = [
            (started - timedelta(seconds=1)).isoformat(),
            datetime.now(UTC).isoformat(),
        ]
        fault["incidents"] = incidents_between(*fault["window"])

    def _wait_resolved(self, fault: dict, code: str) -> None:
        """The readiness poller clears the incident on its next passing probe."""

        def resolved() -> bool:
            fresh_connection()
            return not incident_open(code)

        with contextlib.suppress(AssertionError):
            wait_until(resolved, 20, f"{code} to be resolved", 0.5)
