"""The load drill's traffic: scanners on the floor, planners at their desks, the ERP.

Run by ``python manage.py drill`` (``drills/load/``), which prepares the
data and passes two files in the environment:

- ``DRILL_FIXTURE``: JSON written by the drill (tokens, work orders per worker
  slot, materials and locations to move);
- ``DRILL_KEYS_LOG``: where every scan key sent is logged as
  ``key<TAB>kind<TAB>outcome`` (``applied``, ``replayed``, ``error``, or
  ``unknown`` / ``deferred`` when no answer came), once per attempt, so the
  drill can check afterwards that each was applied exactly once.

Like a real handheld that loses Wi-Fi, a scanner keeps every action that got
no answer (no connection, a timeout, a 5xx, a 429, or ``deferred`` in the
floor batch's answer) in its own queue and sends it again, with the same
idempotency key and body, before anything new, until it is answered. The ERP
does the same with its pushes. When the file named by ``DRILL_DRAIN_FILE``
exists, scanners and the ERP stop making new actions and only empty their
queues (the fault drill's drain phase).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import uuid
from datetime import UTC, datetime

import gevent
from locust import HttpUser, between, events, task

REQUEST_TIMEOUT = 15  # seconds; no answer by then counts as none (the action is kept)

# Seconds between one user's actions, by DRILL_PACE. "plant" is a busy shift: a
# worker scans a few times per operation, at most every 10-30 s (the start of a
# shift, when everybody accepts and starts at once); a planner clicks every 5-15 s;
# the ERP pushes every 10-30 s. "stress" is four to five times that, to find
# where the machine saturates (docs/benchmarks.md).
PACES = {
    "plant": {"floor": (10, 30), "planner": (5, 15), "erp": (10, 30)},
    "stress": {"floor": (2, 6), "planner": (4, 12), "erp": (5, 15)},
}
PACE = PACES[os.environ.get("DRILL_PACE", "plant")]

FIXTURE: dict = {}
_slots = itertools.count()
_log_lock = threading.Lock()
_log_file = None
_environment = None


@events.init.add_listener
def _load_fixture(environment, **_kwargs) -> None:
    global _environment, _log_file
    _environment = environment
    path = os.environ.get("DRILL_FIXTURE")
    if path:
        with open(path, encoding="utf-8") as handle:
            FIXTURE.update(json.load(handle))
    log_path = os.environ.get("DRILL_KEYS_LOG")
    if log_path:
        _log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run


@events.spawning_complete.add_listener
def _measure_the_steady_state(user_count, **_kwargs) -> None:
    """Restart the statistics DRILL_SETTLE_SECONDS after every user has started: the
    verdict is on the steady state; the ramp-up burst is reported apart by the drill."""
    settle = float(os.environ.get("DRILL_SETTLE_SECONDS") or 0)
    runner = _environment.runner if _environment is not None else None
    if settle > 0 and runner is not None:
        gevent.spawn_later(settle, runner.stats.reset_all)


@events.quitting.add_listener
def _close_log(environment, **_kwargs) -> None:
    if _log_file is not None:
        _log_file.close()


def log_key(key: str, kind: str, outcome: str) -> None:
    if _log_file is None:
        return
    with _log_lock:
        _log_file.write(f"{key}\t{kind}\t{outcome}\n")
        _log_file.flush()


def now() -> str:
    return datetime.now(UTC).isoformat()


def draining() -> bool:
    path = os.environ.get("DRILL_DRAIN_FILE")
    return bool(path) and os.path.exists(path)


def unanswered(status_code: int) -> bool:
    """No answer (connection error: 0), busy (429) or a server error: send it again."""
    return status_code == 0 or status_code == 429 or status_code >= 500


class OfflineQueue:
    """Actions not answered yet, oldest first; each is sent again as it was until answered."""

    def __init__(self, send) -> None:
        self.items: list[tuple] = []
        self.send = send  # (item, resend: bool) -> answered: bool

    def submit(self, *item) -> None:
        self.items.append(item)
        self.flush(new=True)

    def flush(self, new: bool = False) -> None:
        while self.items:
            resend = not (new and len(self.items) == 1)
            if not self.send(self.items[0], resend):
                return
            self.items.pop(0)


class FloorWorker(HttpUser):
    """A worker with a handheld: accept/start/finish, issue, put away, and a flaky Wi-Fi
    that makes the device send some actions twice (same idempotency key)."""

    weight = 16
    wait_time = between(*PACE["floor"])

    def on_start(self) -> None:
        slot = next(_slots)
        workers = FIXTURE["workers"]
        self.worker = workers[slot % len(workers)]
        self.headers = {"Authorization": f"Token {self.worker['token']}"}
        # Each slot owns its own work orders, so no two scanners fight over one.
        self.operations = list(FIXTURE["slots"][slot % len(FIXTURE["slots"])])
        self.steps = ["accept", "start", "finish"]
        self.step = 0
        self.device = f"drill-{slot}"
        self.rng = random.Random(slot)
        self.sent: list[tuple[str, dict]] = []
        self.queue = OfflineQueue(self._send)

    def _send(self, item: tuple[str, dict], resend: bool) -> bool:
        kind, action = item
        if kind == "movement":
            return self._movement(action, resend)
        return self._floor(action, kind, resend=resend)

    def _offline_first(self) -> bool:
        """Send what is queued first; True when the task may add a new action."""
        self.queue.flush()
        return not self.queue.items and not draining()

    def _floor(self, action: dict, kind: str, replay: bool = False, resend: bool = False) -> bool:
        """One action to the floor batch endpoint; False when it got no answer."""
        body = {"device_id": self.device, "actions": [action]}
        if replay:
            name = "POST /api/v1/floor/actions/ (replay)"
        elif resend:
            name = "POST /api/v1/floor/actions/ (resend)"
        else:
            name = f"POST floor {kind}"
        with self.client.post(
            "/api/v1/floor/actions/",
            json=body,
            headers=self.headers,
            name=name,
            catch_response=True,
            timeout=REQUEST_TIMEOUT,
        ) as response:
            if response.status_code != 200:
                answered = not unanswered(response.status_code)
                if not replay:
                    log_key(action["idempotency_key"], kind, "error" if answered else "unknown")
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return answered
            result = response.json()["results"][0]
            status = result["status"]
            if not replay:
                log_key(action["idempotency_key"], kind, status)
            if status in ("applied", "replayed"):
                response.success()
                if not replay:
                    self.sent.append((kind, action))
            else:
                response.failure(f"{status}: {json.dumps(result.get('error'))[:200]}")
            return status != "deferred"

    @task(6)
    def transition(self) -> None:
        """Accept, start or finish the current operation (then the next one)."""
        if not self._offline_first():
            return
        if not self.operations:
            self.put_away()
            return
        operation = self.operations[0]
        transition = self.steps[self.step]
        action = {
            "idempotency_key": f"drill-{uuid.uuid4().hex}",
            "occurred_at": now(),
            "type": transition,
            "operation": operation,
        }
        self.queue.submit(transition, action)
        self.step += 1
        if self.step == len(self.steps):
            self.step = 0
            self.operations.pop(0)

    @task(2)
    def issue(self) -> None:
        """Material issue to the operation in hand (a scanned batch of a component)."""
        if not self._offline_first():
            return
        issue = FIXTURE["issue"]
        operation = self.operations[0] if self.operations else FIXTURE["any_operation"]
        action = {
            "idempotency_key": f"drill-{uuid.uuid4().hex}",
            "occurred_at": now(),
            "type": "issue",
            "operation": operation,
            "material": self.rng.choice(issue["materials"]),
            "location": issue["location"],
            "quantity": str(self.rng.randint(1, 3)),
        }
        self.queue.submit("issue", action)

    @task(2)
    def put_away(self) -> None:
        if not self._offline_first():
            return
        put_away = FIXTURE["put_away"]
        action = {
            "idempotency_key": f"drill-{uuid.uuid4().hex}",
            "occurred_at": now(),
            "type": "put_away",
            "material": self.rng.choice(put_away["materials"]),
            "location": put_away["from"],
            "to_location": self.rng.choice(put_away["to"]),
            "quantity": "1",
        }
        self.queue.submit("put_away", action)

    @task(2)
    def movement(self) -> None:
        """A stock movement from a handheld through the movement API."""
        if not self._offline_first():
            return
        stock = FIXTURE["stock"]
        body = {
            "type": self.rng.choice(["receipt", "issue"]),
            "material": self.rng.choice(stock["materials"]),
            "location": self.rng.choice(stock["locations"]),
            "quantity": str(self.rng.randint(1, 5)),
            "reference": "DRILL",
            "device_id": self.device,
        }
        self.queue.submit("movement", {"key": f"drill-{uuid.uuid4().hex}", "body": body})

    def _movement(self, sent: dict, resend: bool) -> bool:
        key = sent["key"]
        with self.client.post(
            "/api/v1/movements/",
            json=sent["body"],
            headers={**self.headers, "Idempotency-Key": key},
            name="POST /api/v1/movements/ (resend)" if resend else "POST /api/v1/movements/",
            catch_response=True,
            timeout=REQUEST_TIMEOUT,
        ) as response:
            if response.status_code in (200, 201):  # 200: the first result again
                log_key(key, "movement", "applied" if response.status_code == 201 else "replayed")
                self.sent.append(("movement", sent))
                response.success()
                return True
            answered = not unanswered(response.status_code)
            log_key(key, "movement", "error" if answered else "unknown")
            response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            return answered

    @task(1)
    def replay(self) -> None:
        """The device did not get the answer and sends the same action again."""
        if not self.sent or not self._offline_first():
            return
        kind, sent = self.rng.choice(self.sent)
        if kind != "movement":
            self._floor(sent, kind, replay=True)
            return
        with self.client.post(
            "/api/v1/movements/",
            json=sent["body"],
            headers={**self.headers, "Idempotency-Key": sent["key"]},
            name="POST /api/v1/movements/ (replay)",
            catch_response=True,
            timeout=REQUEST_TIMEOUT,
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


class Planner(HttpUser):
    """A planner with a browser: work-order list, stock overview, health page."""

    weight = 3
    wait_time = between(*PACE["planner"])

    def on_start(self) -> None:
        planner = FIXTURE["planner"]
        self.client.get("/accounts/login/", name="GET /accounts/login/")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post(
            "/accounts/login/",
            data={
                "username": planner["username"],
                "password": planner["password"],
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": self.host + "/accounts/login/"},
            name="POST /accounts/login/",
        )

    @task(4)
    def work_orders(self) -> None:
        self.client.get("/work-orders/", name="GET /work-orders/")

    @task(3)
    def stock(self) -> None:
        self.client.get("/inventory/", name="GET /inventory/")

    @task(1)
    def health(self) -> None:
        self.client.get("/monitoring/", name="GET /monitoring/")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="GET /")


class ErpNode(HttpUser):
    """The ERP pushes purchase receipts; now and then a bulk import of many at once."""

    weight = 1
    wait_time = between(*PACE["erp"])

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Node {FIXTURE['erp']['token']}"}
        self.rng = random.Random()
        self.queue = OfflineQueue(self._send)

    def _push(self, count: int, name: str) -> None:
        self.queue.flush()
        if self.queue.items or draining():
            return
        receipts = FIXTURE["receipts"]
        records = [
            {
                "external_id": f"drill-{uuid.uuid4().hex}",
                "material": self.rng.choice(receipts["materials"]),
                "location": receipts["location"],
                "quantity": str(self.rng.randint(1, 50)),
            }
            for _ in range(count)
        ]
        self.queue.submit(name, records)

    def _send(self, item: tuple[str, list[dict]], resend: bool) -> bool:
        name, records = item
        with self.client.post(
            "/api/v1/nodes/erp/inbound/purchase_receipts/",
            json={"records": records},
            headers=self.headers,
            name="POST inbound purchase_receipts (resend)" if resend else name,
            catch_response=True,
            timeout=REQUEST_TIMEOUT * 4,
        ) as response:
            if response.status_code != 200:
                answered = not unanswered(response.status_code)
                for record in records:
                    log_key(
                        f"erp:purchase_receipt:{record['external_id']}",
                        "receipt",
                        "error" if answered else "unknown",
                    )
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return answered
            for result in response.json()["results"]:
                log_key(
                    f"erp:purchase_receipt:{result['external_id']}", "receipt", result["status"]
                )
            if response.json()["failed"]:
                response.failure(f"{response.json()['failed']} records failed")
            else:
                response.success()
            return True

    @task(5)
    def receipts(self) -> None:
        self._push(self.rng.randint(1, 5), "POST inbound purchase_receipts")

    @task(1)
    def bulk_import(self) -> None:
        self._push(200, "POST inbound purchase_receipts (bulk 200)")
