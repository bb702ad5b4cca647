"""The same movements sent three times, interleaved, change stock exactly once.

Scanners that lost Wi-Fi and systems that retry send a movement again with
its idempotency key. Every movement here succeeds in any order (stock is
deep and counts, which set an absolute figure, are left out), so the end
state is known whatever the interleaving: the initial stock plus each
movement's effect once.

- Everywhere (SQLite too): 200 movements, 600 sends in a shuffled order,
  one after the other, through the API.
- PostgreSQL: 1,000 movements, 3,000 sends from parallel clients over HTTP
  to a live server, the copies of some movements sent back to back so that
  they race.
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import socket
import threading
from collections import defaultdict
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from inventory.models import Batch, StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move
from mes.tokens import api_token_create
from tests.factories import LocationFactory, MaterialFactory
from tests.inventory.ledger import assert_balance_history_is_serial, assert_ledger_matches_balances

PLAIN, TRACKED = "0800001", "0800002"
STORES = ["R-01", "R-02", "R-03"]
PENDING = "R-PEND"
LOTS = ["R-LOT-1", "R-LOT-2"]
INITIAL = Decimal(100_000)

Key = tuple[str, str, str | None]


def create_plant() -> list[Key]:
    """Materials, locations and deep stock everywhere a movement may take from."""
    MaterialFactory(code=PLAIN, name="Bolt M8")
    MaterialFactory(code=TRACKED, name="Resin", unit="KG", decimal_places=2, is_batch_tracked=True)
    for code in STORES:
        LocationFactory(code=code)
    LocationFactory(code=PENDING, location_type="pending_putaway")
    keys = [
        (material, location, batch)
        for material, batches in ((PLAIN, [None]), (TRACKED, LOTS))
        for batch in batches
        for location in [*STORES, PENDING]
    ]
    for number, (material, location, batch) in enumerate(keys):
        stock_move(
            actor=None,
            idempotency_key=f"replay-initial-{number}",
            request=MovementRequest(
                movement_type="receipt",
                material=material,
                location=location,
                batch=batch,
                quantity=INITIAL,
            ),
        )
    return keys


def random_movements(count: int, seed: int) -> tuple[list[tuple[str, dict]], dict[Key, Decimal]]:
    """(idempotency key, API body) per movement, and the effect of all of them once."""
    rng = random.Random(seed)
    effects: dict[Key, Decimal] = defaultdict(Decimal)
    movements = []
    for number in range(count):
        material = rng.choice([PLAIN, TRACKED])
        batch = rng.choice(LOTS) if material == TRACKED else None
        places = 2 if material == TRACKED else 0
        quantity = Decimal(rng.randint(1, 5000 if places else 50)).scaleb(-places)
        kind = rng.choice(
            [
                "receipt",
                "return",
                "issue",
                "issue",
                "transfer",
                "adjustment",
                "completion",
                "put_away",
            ]
        )
        location = PENDING if kind in ("completion", "put_away") else rng.choice(STORES)
        body = {"type": kind, "material": material, "location": location}
        if batch:
            body["batch"] = batch
        if kind == "transfer":
            body["to_location"] = rng.choice([code for code in STORES if code != location])
        elif kind == "put_away":
            body["to_location"] = rng.choice(STORES)
        if kind == "adjustment":
            quantity = quantity if rng.random() < 0.5 else -quantity
            body["reason"] = "found in a second count"
        if kind == "issue":
            body["reference"] = f"WO-{rng.randint(1, 40):04d}"
        body["quantity"] = str(quantity)

        key = (material, location, batch)
        if kind == "issue":
            effects[key] -= quantity
        elif kind in ("transfer", "put_away"):
            effects[key] -= quantity
            effects[(material, body["to_location"], batch)] += quantity
        else:
            effects[key] += quantity
        movements.append((f"replay-{seed}-{number:05d}", body))
    return movements, effects


def same_request_spelled_differently(body: dict, rng: random.Random) -> dict:
    """A replay may spell the quantity differently: 12.5, 12.50 and 12.500 are one request."""
    if rng.random() < 0.5:
        return body
    return {**body, "quantity": str(Decimal(body["quantity"]).quantize(Decimal("0.001")))}


def assert_stock_changed_once(keys: list[Key], effects: dict[Key, Decimal], count: int) -> None:
    balances = {
        (material, location, batch): on_hand
        for material, location, batch, on_hand in StockBalance.objects.values_list(
            "material__code", "location__code", "batch__number", "on_hand"
        )
    }
    for key in keys:
        assert balances[key] == INITIAL + effects.get(key, Decimal(0)), key
    assert set(balances) == set(keys)
    assert StockMovement.objects.count() == len(keys) + count
    assert Batch.objects.count() == len(LOTS)
    assert_ledger_matches_balances()
    assert_balance_history_is_serial()


def assert_one_creation_and_equal_answers(answers: dict[str, list[tuple[int, dict]]]) -> None:
    for key, replies in answers.items():
        statuses = sorted(status for status, _body in replies)
        assert statuses == [200, 200, 201], (key, replies)
        bodies = [body for _status, body in replies]
        assert bodies[0] == bodies[1] == bodies[2], key
        assert bodies[0]["idempotency_key"] == key


# --- Everywhere: sequential, interleaved ------------------------------------------------------
@pytest.mark.django_db
def test_two_hundred_movements_sent_three_times_interleaved_change_stock_once(user_with_role):
    keys = create_plant()
    movements, effects = random_movements(200, seed=7)
    rng = random.Random(70)
    sends = [(key, body) for key, body in movements for _copy in range(3)]
    rng.shuffle(sends)
    client = APIClient()
    client.force_authenticate(user_with_role("supervisor"))

    answers: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for key, body in sends:
        response = client.post(
            "/api/v1/movements/",
            same_request_spelled_differently(body, rng),
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code in (200, 201), response.json()
        # The first send of a key creates; every later one replays.
        assert (response.status_code == 201) == (key not in answers), key
        answers[key].append((response.status_code, response.json()))

    assert len(answers) == 200
    assert_one_creation_and_equal_answers(answers)
    assert_stock_changed_once(keys, effects, 200)


# --- PostgreSQL: parallel clients over HTTP ------------------------------------------------------
@pytest.fixture
def fast_live_server(live_server, monkeypatch):
    """The live server with TCP_NODELAY on each connection.

    Its WSGI handler writes the headers and the body of an answer separately;
    with Nagle's algorithm and the client's delayed ACK every keep-alive answer
    then waits about 40 ms, which would make this test six times slower.
    """
    server = live_server.thread.httpd
    accept = server.get_request

    def get_request():
        sock, address = accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    monkeypatch.setattr(server, "get_request", get_request)
    return live_server


class HttpSender:
    """One keep-alive HTTP connection per client thread; reconnects once if dropped."""

    def __init__(self, base_url: str, token: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post(self, path: str, body: dict, key: str) -> tuple[int, dict]:
        payload = json.dumps(body).encode()
        headers = {**self.headers, "Idempotency-Key": key}
        for attempt in range(2):
            try:
                self.connection.request("POST", path, body=payload, headers=headers)
                response = self.connection.getresponse()
                return response.status, json.loads(response.read())
            except (ConnectionError, http.client.HTTPException):
                # Resending is safe: that is what the key is for.
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_thousand_movements_sent_three_times_in_parallel_over_http_change_stock_once(
    fast_live_server, user_with_role
):
    keys = create_plant()
    movements, effects = random_movements(1000, seed=11)
    token = api_token_create(actor=None, user=user_with_role("supervisor"), name="replay").key
    rng = random.Random(110)
    answers: dict[str, list[tuple[int, dict]]] = defaultdict(list)

    # Every movement three times, shuffled; one in five sent three times back to back
    # so that parallel clients race on the same key.
    loose = [(key, body) for key, body in movements for _copy in range(3)]
    rng.shuffle(loose)
    racing = set(rng.sample([key for key, _body in movements], k=200))
    sends: list[tuple[str, dict]] = []
    for key, body in loose:
        if key not in racing:
            sends.append((key, body))
        elif key not in answers:  # first copy met: send all three together
            answers[key] = []
            sends.extend([(key, body)] * 3)
    answers.clear()
    sends_queue: queue.Queue = queue.Queue()
    for key, body in sends:
        sends_queue.put((key, same_request_spelled_differently(body, rng)))
    assert sends_queue.qsize() == 3000

    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        sender = HttpSender(fast_live_server.url, token)
        try:
            while True:
                try:
                    key, body = sends_queue.get_nowait()
                except queue.Empty:
                    return
                status, answer = sender.post("/api/v1/movements/", body, key)
                with lock:
                    if status not in (200, 201):
                        failures.append(f"{key}: {status} {answer}")
                    answers[key].append((status, answer))
        except Exception as error:  # reported below
            with lock:
                failures.append(f"{type(error).__name__}: {error}")
        finally:
            sender.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    assert len(answers) == 1000
    assert_one_creation_and_equal_answers(answers)
    assert_stock_changed_once(keys, effects, 1000)
