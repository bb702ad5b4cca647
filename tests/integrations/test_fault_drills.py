"""Fault drills with real processes: Redis stopped, a worker killed, the ERP restarted.

A writer process keeps writing outbox messages (one transaction each, as the
web app does) while the drill stops and starts a Redis server of its own,
SIGKILLs the Celery worker in the middle of deliveries and restarts the fake
ERP. Afterwards every message is delivered, the ERP applied each exactly once,
and messages of one aggregate arrived in the order they were written.

The tests below it run a PostgreSQL cluster of their own (``drills/processes.py``)
under gunicorn, so that they can stop it: the database away answers 503 with
``SYS-002`` and the app recovers by itself; a device's actions sent meanwhile
apply once when sent again; beat stopped and started runs its task again. The
whole drill is ``make fault-drill`` (``docs/fault-drill.md``).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

from drills.fakes.process import running_fake
from drills.processes import (
    PostgresCluster,
    RedisServer,
    free_port,
    postgres_cluster_available,
    stack_environment,
)
from drills.processes import kill as _kill
from drills.processes import spawn as _spawn
from drills.processes import wait_until as _wait_until
from integrations.models import Node, OutboxMessage
from mes.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 120
AGGREGATES = 6

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def _environment(redis_url: str, var_dir: Path) -> dict[str, str]:
    """The test database's URL (pytest-django's ``test_<name>``) for the spawned processes."""
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    return stack_environment(database_url, redis_url, var_dir)


WRITER = f"""
import time
import django
django.setup()
from django.db import transaction
from integrations.services import outbox_message_create
for number in range({MESSAGES}):
    with transaction.atomic():
        outbox_message_create(
            event_type="drill.message",
            aggregate_key="drill:%d" % (number % {AGGREGATES}),
            payload={{"number": number}},
        )
    time.sleep(0.08)
print("writer done", flush=True)
"""


@pytest.mark.timeout(300)
@pytest.mark.django_db(transaction=True)
def test_nothing_is_lost_or_doubled_through_redis_worker_and_erp_failures(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    worker = beat = writer = None
    celery = [sys.executable, "-m", "celery", "-A", "mes"]
    try:
        with running_fake("erp") as erp:
            Node.objects.create(
                name="erp",
                kind="erp",
                transport="http_json",
                base_url=erp.base_url,
                subscriptions=["drill."],
                timeout_seconds=2,
                first_retry_seconds=1,
                max_retries=20,
            )
            erp.control("slow", delay=0.15)
            env = _environment(redis.url, tmp_path / "var")
            worker_args = [*celery, "worker", "--concurrency", "2", "--loglevel", "WARNING"]
            worker = _spawn(worker_args, env, tmp_path / "worker.log")
            beat = _spawn(
                [*celery, "beat", "--loglevel", "WARNING", "--pidfile="],
                env,
                tmp_path / "beat.log",
            )
            writer = _spawn(
                [sys.executable, "-c", WRITER],
                {**env, "DJANGO_SETTINGS_MODULE": "mes.settings"},
                tmp_path / "writer.log",
            )

            def written() -> int:
                return OutboxMessage.objects.count()

            _wait_until(lambda: written() >= 20, 60, "the first messages")
            redis.stop()  # the writer keeps writing; its enqueues fail
            written_while_down = written()
            time.sleep(3)
            assert written() > written_while_down, "writing stopped while Redis was down"
            redis.start()

            _wait_until(lambda: written() >= 60, 60, "more messages")
            _kill(worker, signal.SIGKILL)  # in the middle of deliveries
            worker = _spawn(worker_args, env, tmp_path / "worker.log")

            _wait_until(lambda: written() >= 90, 60, "more messages")
            erp.stop()  # the ERP restarts in the middle of the batch
            time.sleep(2)
            erp.start()
            erp.control("slow", delay=0.05)

            assert writer.wait(timeout=120) == 0
            assert written() == MESSAGES
            writer_log = (tmp_path / "writer.log").read_text()
            assert "could not enqueue outbox message" in writer_log  # Redis was really down

            def all_delivered() -> bool:
                return not OutboxMessage.objects.exclude(state="delivered").exists()

            _wait_until(all_delivered, 150, "every message to be delivered")

            received = erp.received()
            ids = [message["message_id"] for message in received["messages"]]
            expected = {
                str(value) for value in OutboxMessage.objects.values_list("message_id", flat=True)
            }
            assert len(ids) == len(set(ids)) == MESSAGES  # applied once each
            assert set(ids) == expected
            numbers_by_aggregate: dict[str, list[int]] = {}
            for message in received["messages"]:
                numbers_by_aggregate.setdefault(message["aggregate_key"], []).append(
                    message["payload"]["number"]
                )
            for numbers in numbers_by_aggregate.values():
                assert numbers == sorted(numbers)  # in order within each aggregate
    finally:
        for process in (writer, beat, worker):
            _kill(process)
        redis.stop()


# --- The database away, beat stopped: a stack of the test's own --------------------------------
# PostgreSQL is stopped here, so these tests run a cluster of their own (drills/processes.py),
# never the shared server the rest of the suite uses.
SEED = """
import json
from datetime import date, timedelta
from decimal import Decimal
import django
django.setup()
from django.contrib.auth.models import Group, User
from mes.tokens import api_token_create
from integrations.models import Node, OutboxMessage
from inventory.models import Location, Material
from mes.roles import Role
from workorders.models import Routing, RoutingOperation, WorkCenter
from workorders.services import work_order_create, work_order_transition

planner = User.objects.get(username="planner")
worker = User.objects.create_user("fault-worker", password=None)
# A handheld of the store room: it operates and receives goods.
worker.groups.add(*Group.objects.filter(name__in=[Role.WORKER, Role.STOREKEEPER]))
product = Material.objects.create(code="FAULT-P", name="Fault drill bracket")
center = WorkCenter.objects.create(code="FAULT-WC", name="Fault drill cell")
routing = Routing.objects.create(product=product, code="FAULT-R", is_default=True)
RoutingOperation.objects.create(routing=routing, sequence=10, name="Cut", work_center=center)
pending = Location.objects.filter(location_type=Location.Type.PENDING_PUTAWAY).first()
storage = Location.objects.filter(location_type=Location.Type.STORAGE).order_by("code").first()
work_order, _ = work_order_create(
    actor=planner, product=product.code, quantity=Decimal(10),
    due_date=date.today() + timedelta(days=7), completion_location=pending.code,
    idempotency_key="fault-wo",
)
work_order_transition(
    actor=planner, work_order_id=work_order.pk, transition="dispatch",
    idempotency_key="fault-dispatch",
)
# No ERP or WMS here: the worker only runs what beat schedules.
Node.objects.update(is_active=False)
OutboxMessage.objects.all().delete()
print("FIXTURE " + json.dumps({
    "token": api_token_create(actor=None, user=worker, name="fault drill").key,
    "operation": work_order.operations.order_by("sequence").first().pk,
    "material": product.code,
    "location": storage.code,
}))
"""


class OwnStack:
    """PostgreSQL, Redis and gunicorn of the test's own, with the demo and drill data."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.postgres = PostgresCluster()
        self.redis = RedisServer(workdir)
        self.web = self.worker = self.beat = None
        self.port = free_port()
        self.fixture: dict = {}

    @property
    def env(self) -> dict[str, str]:
        return stack_environment(
            self.postgres.url("mes_fault_test"),
            self.redis.url,
            self.workdir / "var",
            DJANGO_SETTINGS_MODULE="mes.settings",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_DEBUG="false",
            MES_HEARTBEAT_SECONDS="1",
            MES_WORKER_MAX_AGE_SECONDS="4",
            MES_BEAT_MAX_AGE_SECONDS="4",
            # Pages without collectstatic's manifest (which takes 40 s to build).
            DJANGO_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        started = time.monotonic()
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database("mes_fault_test")
        self.redis.start()
        manage = [sys.executable, "manage.py"]
        for command in (["migrate", "--noinput", "-v", "0"], ["demo_data"]):
            subprocess.run([*manage, *command], cwd=ROOT, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
        seeded = subprocess.run(
            [sys.executable, "-c", SEED], cwd=ROOT, env=self.env, check=True,
            capture_output=True, text=True,
        )  # fmt: skip
        line = next(x for x in seeded.stdout.splitlines() if x.startswith("FIXTURE "))
        self.fixture = json.loads(line[len("FIXTURE ") :])
        gunicorn = [
            str(Path(sys.executable).parent / "gunicorn"), "mes.wsgi",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
            "--worker-class", "gthread", "--threads", "4",
        ]  # fmt: skip
        self.web = _spawn(gunicorn, self.env, self.workdir / "gunicorn.log")
        _wait_until(lambda: self.answers("/healthz")[0] == 200, 60, "gunicorn")
        print(f"own stack up in {time.monotonic() - started:.1f} s")

    def answers(self, path: str, session=None, **kwargs) -> tuple[int, dict | str, dict]:
        """(status, JSON or text, headers); status 0 when nothing answered."""
        session = session or requests
        method = session.post if "json" in kwargs else session.get
        try:
            response = method(self.url(path), timeout=10, allow_redirects=False, **kwargs)
        except requests.RequestException:
            return 0, "", {}
        try:
            return response.status_code, response.json(), dict(response.headers)
        except ValueError:
            return response.status_code, response.text, dict(response.headers)

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.postgres.port, user="postgres", dbname="mes_fault_test"
        )
        with connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        connection.close()
        return rows

    def celery(self, role: str) -> subprocess.Popen:
        args = [sys.executable, "-m", "celery", "-A", "mes", role, "--loglevel", "WARNING"]
        if role == "beat":
            args += ["--pidfile=", "-s", str(self.workdir / "beat-schedule")]
        else:
            args += ["--concurrency", "2"]
        return _spawn(args, self.env, self.workdir / f"{role}.log")

    def stop(self) -> None:
        for process in (self.beat, self.worker, self.web):
            _kill(process)
        self.redis.stop()
        self.postgres.destroy()


own_cluster = pytest.mark.skipif(
    not postgres_cluster_available(), reason="needs the PostgreSQL server binaries (initdb)"
)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    stack = OwnStack(tmp_path_factory.mktemp("own-stack"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def _worker_headers(stack: OwnStack) -> dict[str, str]:
    return {"Authorization": f"Token {stack.fixture['token']}"}


def _planner_session(stack: OwnStack) -> requests.Session:
    session = requests.Session()
    session.get(stack.url("/accounts/login/"), timeout=10)
    session.post(
        stack.url("/accounts/login/"),
        data={
            "username": "planner",
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
        },
        headers={"Referer": stack.url("/accounts/login/")},
        timeout=10,
    )
    return session


@own_cluster
@pytest.mark.timeout(120)
def test_database_away_answers_503_sys002_and_recovers_by_itself(own_stack):
    headers = _worker_headers(own_stack)
    planner = _planner_session(own_stack)
    assert own_stack.answers("/api/v1/me/", headers=headers)[0] == 200
    assert own_stack.answers("/work-orders/", planner)[0] == 200
    own_stack.postgres.stop()
    try:
        status, body, response_headers = own_stack.answers("/api/v1/me/", headers=headers)
        assert status == 503, body
        assert body["code"] == "SYS-002" and body["severity"] == "A" and body["message"]
        assert response_headers["Retry-After"] == "5"
        status, body, _ = own_stack.answers("/readyz")
        assert status == 503
        assert "database" in body["failing"]
        assert body["checks"]["database"]["code"] == "SYS-002"
        status, page, _ = own_stack.answers("/work-orders/", planner)
        assert status == 503 and "SYS-002" in page  # a page, not a bare 500
    finally:
        own_stack.postgres.start()
    # Nothing restarted but the database: the web app reconnects by itself.
    _wait_until(lambda: own_stack.answers("/api/v1/me/", headers=headers)[0] == 200, 30, "the API")
    _wait_until(lambda: own_stack.answers("/readyz")[0] == 200, 30, "/readyz")
    assert own_stack.answers("/work-orders/", planner)[0] == 200
    # The first passing probe recorded the outage as an incident, resolved by the system.
    assert own_stack.sql(
        "SELECT state, resolved_by_id FROM monitoring_incident "
        "WHERE code = 'SYS-002' AND source = 'system:database'"
    ) == [("resolved", None)]


@own_cluster
@pytest.mark.timeout(120)
def test_device_actions_sent_while_the_database_was_away_apply_once_after_resending(own_stack):
    headers = _worker_headers(own_stack)
    operation = own_stack.fixture["operation"]
    accept = {
        "idempotency_key": f"offline-{uuid.uuid4().hex}",
        "occurred_at": "2026-11-25T08:00:00+00:00",
        "type": "accept",
        "operation": operation,
    }
    floor_body = {"device_id": "handheld-7", "actions": [accept]}
    movement_key = f"offline-{uuid.uuid4().hex}"
    movement = {
        "type": "receipt",
        "material": own_stack.fixture["material"],
        "location": own_stack.fixture["location"],
        "quantity": "3",
        "device_id": "handheld-7",
    }
    movement_headers = {**headers, "Idempotency-Key": movement_key}

    def send() -> tuple[tuple, tuple]:
        return (
            own_stack.answers("/api/v1/floor/actions/", headers=headers, json=floor_body),
            own_stack.answers("/api/v1/movements/", headers=movement_headers, json=movement),
        )

    own_stack.postgres.stop()
    try:
        for answer in send():  # the device gets no result: it keeps both and sends again
            assert answer[0] == 503 and answer[1]["code"] == "SYS-002", answer
    finally:
        own_stack.postgres.start()

    def resent() -> bool:
        floor, moved = send()
        return floor[0] == 200 and moved[0] in (200, 201)

    _wait_until(resent, 30, "the resent actions to be answered")
    floor, moved = send()  # and once more, as a device that lost the answer would
    assert floor[0] == 200 and floor[1]["results"][0]["status"] == "replayed"
    assert moved[0] == 200
    events = own_stack.sql(
        "SELECT transition FROM workorders_workorderevent WHERE idempotency_key = %s",
        accept["idempotency_key"],
    )
    assert events == [("accept",)]
    assert own_stack.sql(
        "SELECT count(*) FROM inventory_stockmovement WHERE idempotency_key = %s", movement_key
    ) == [(1,)]


@own_cluster
@pytest.mark.timeout(120)
def test_beat_stopped_and_started_again_runs_the_scheduled_task_again(own_stack):
    def last_seen(process: str):
        rows = own_stack.sql(
            "SELECT last_seen_at FROM monitoring_processheartbeat WHERE process = %s", process
        )
        return rows[0][0] if rows else None

    def unresolved(code: str) -> int:
        return own_stack.sql(
            "SELECT count(*) FROM monitoring_incident WHERE code = %s AND state <> 'resolved'",
            code,
        )[0][0]

    own_stack.worker = own_stack.celery("worker")
    own_stack.beat = own_stack.celery("beat")
    started = own_stack.sql("SELECT now()")[0][0]
    _wait_until(lambda: (last_seen("worker") or started) > started, 40, "the heartbeat task")

    _kill(own_stack.beat)
    beat_stopped = last_seen("beat")
    readings = [last_seen("worker")]

    def worker_idle() -> bool:  # the heartbeats beat queued before it stopped are done
        readings.append(last_seen("worker"))
        return readings[-1] == readings[-2]

    _wait_until(worker_idle, 30, "the queued heartbeats to be done", interval=2.0)
    stopped = readings[-1]
    time.sleep(3)
    assert last_seen("worker") == stopped, "the heartbeat task ran with beat stopped"
    assert last_seen("beat") == beat_stopped
    # The readiness probe (compose polls it) sees beat's heartbeat too old: an incident.
    _wait_until(lambda: own_stack.answers("/readyz") and unresolved("MON-004") == 1, 20, "MON-004")

    own_stack.beat = own_stack.celery("beat")
    _wait_until(lambda: last_seen("worker") > stopped, 40, "the heartbeat task to run again")
    _wait_until(lambda: last_seen("beat") > stopped, 10, "beat's own heartbeat")
    own_stack.answers("/readyz")
    assert unresolved("MON-004") == 0  # the system resolved it on the next probe
