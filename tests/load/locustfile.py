"""The load drill's traffic: scanners on the floor, planners at their desks, the ERP.

Run by ``python manage.py drill`` (``tests/load/drill.py``), which prepares the
data and passes two files in the environment:

- ``DRILL_FIXTURE``: JSON written by the drill (tokens, work orders per worker
  slot, materials and locations to move);
- ``DRILL_KEYS_LOG``: where every scan key sent is logged as
  ``key<TAB>kind<TAB>outcome`` (``applied``, ``replayed``, ``error`` or
  ``unknown`` when no answer came), so the drill can check afterwards that each
  was applied exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import uuid
from datetime import UTC, datetime

from locust import HttpUser, between, events, task

FIXTURE: dict = {}
_slots = itertools.count()
_log_lock = threading.Lock()
_log_file = None


@events.init.add_listener
def _load_fixture(environment, **_kwargs) -> None:
    global _log_file
    path = os.environ.get("DRILL_FIXTURE")
    if path:
        with open(path, encoding="utf-8") as handle:
            FIXTURE.update(json.load(handle))
    log_path = os.environ.get("DRILL_KEYS_LOG")
    if log_path:
        _log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run


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


class FloorWorker(HttpUser):
    """A worker with a handheld: accept/start/finish, issue, put away, and a flaky Wi-Fi
    that makes the device send some actions twice (same idempotency key)."""

    weight = 16
    wait_time = between(2, 6)

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

    def _floor(self, action: dict, kind: str, replay: bool = False) -> None:
        body = {"device_id": self.device, "actions": [action]}
        name = "POST /api/v1/floor/actions/ (replay)" if replay else f"POST floor {kind}"
        with self.client.post(
            "/api/v1/floor/actions/",
            json=body,
            headers=self.headers,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                if not replay:
                    log_key(action["idempotency_key"], kind, "unknown")
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
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

    @task(6)
    def transition(self) -> None:
        """Accept, start or finish the current operation (then the next one)."""
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
        self._floor(action, transition)
        self.step += 1
        if self.step == len(self.steps):
            self.step = 0
            self.operations.pop(0)

    @task(2)
    def issue(self) -> None:
        """Material issue to the operation in hand (a scanned batch of a component)."""
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
        self._floor(action, "issue")

    @task(2)
    def put_away(self) -> None:
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
        self._floor(action, "put_away")

    @task(2)
    def movement(self) -> None:
        """A stock movement from a handheld through the movement API."""
        stock = FIXTURE["stock"]
        key = f"drill-{uuid.uuid4().hex}"
        body = {
            "type": self.rng.choice(["receipt", "issue"]),
            "material": self.rng.choice(stock["materials"]),
            "location": self.rng.choice(stock["locations"]),
            "quantity": str(self.rng.randint(1, 5)),
            "reference": "DRILL",
            "device_id": self.device,
        }
        with self.client.post(
            "/api/v1/movements/",
            json=body,
            headers={**self.headers, "Idempotency-Key": key},
            name="POST /api/v1/movements/",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                log_key(key, "movement", "applied")
                self.sent.append(("movement", {"key": key, "body": body}))
                response.success()
            else:
                log_key(key, "movement", "unknown" if response.status_code >= 500 else "error")
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")

    @task(1)
    def replay(self) -> None:
        """The device did not get the answer and sends the same action again."""
        if not self.sent:
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
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


class Planner(HttpUser):
    """A planner with a browser: work-order list, stock overview, health page."""

    weight = 3
    wait_time = between(4, 12)

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
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Node {FIXTURE['erp']['token']}"}
        self.rng = random.Random()

    def _push(self, count: int, name: str) -> None:
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
        with self.client.post(
            "/api/v1/nodes/erp/inbound/purchase_receipts/",
            json={"records": records},
            headers=self.headers,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                for record in records:
                    log_key(f"erp:purchase_receipt:{record['external_id']}", "receipt", "unknown")
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            for result in response.json()["results"]:
                log_key(
                    f"erp:purchase_receipt:{result['external_id']}", "receipt", result["status"]
                )
            if response.json()["failed"]:
                response.failure(f"{response.json()['failed']} records failed")
            else:
                response.success()

    @task(5)
    def receipts(self) -> None:
        self._push(self.rng.randint(1, 5), "POST inbound purchase_receipts")

    @task(1)
    def bulk_import(self) -> None:
        self._push(200, "POST inbound purchase_receipts (bulk 200)")
