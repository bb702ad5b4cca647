"""The fault drill's ``--broker rabbitmq``: its processes use RabbitMQ, the second fault
restarts the node, and the report names the broker. Nothing is started here."""

from __future__ import annotations

import shutil

import pytest

from drills.fault.faults import FaultSequence
from drills.fault.options import EXPECTED_INCIDENTS, parse_options
from drills.fault.report import print_report
from drills.fault.stack import FaultStack
from drills.fault.verdict import broker_check
from drills.processes import postgres_cluster_available


@pytest.fixture
def stack_for(tmp_path):
    if not postgres_cluster_available():
        pytest.skip("needs PostgreSQL's server binaries")
    made = []

    def make(*argv: str) -> FaultStack:
        stack = FaultStack(parse_options(list(argv)), tmp_path)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        shutil.rmtree(stack.workdir, ignore_errors=True)
        shutil.rmtree(stack.postgres.workdir, ignore_errors=True)


def test_redis_stays_the_default_broker_of_the_drill(stack_for, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://elsewhere/")  # not taken from the shell
    stack = stack_for("--quick")
    assert stack.options.broker == "redis" and stack.rabbitmq is None
    environment = stack.environment()
    assert environment["CELERY_BROKER_URL"] == environment["REDIS_URL"] == stack.redis.url


def test_with_rabbitmq_every_process_uses_the_nodes_own_virtual_host(stack_for):
    stack = stack_for("--broker", "rabbitmq")
    environment = stack.environment()
    assert environment["CELERY_BROKER_URL"] == "amqp://guest:guest@127.0.0.1:5672/mes_fault_drill"
    assert environment["REDIS_URL"] == stack.redis.url  # still the cache


def test_with_rabbitmq_the_second_fault_restarts_it_and_expects_sys003(stack_for):
    stack = stack_for("--broker", "rabbitmq")
    sequence = FaultSequence(stack, stack.options, prober=None)
    calls = []
    sequence._broker_away = lambda fault, stop, start: calls.append((fault, stop, start)) or fault
    fault = sequence.rabbitmq()
    assert fault["fault"] == "rabbitmq"
    [(_fault, stop, start)] = calls
    assert (stop, start) == (stack.rabbitmq.stop, stack.rabbitmq.start)
    assert EXPECTED_INCIDENTS["rabbitmq"] == ["SYS-003"]


def test_the_broker_check_and_the_report_name_the_broker(capsys):
    fault = {
        "fault": "rabbitmq",
        "what": "RabbitMQ node stopped",
        "recovered_in_s": 4.2,
        "readyz_answers": {"503 SYS-003": 9, "200": 1},
        "api_answers": {"200": 10},
    }
    check = broker_check(fault)
    assert check["pass"] and check["check"].startswith("rabbitmq away:")
    assert not broker_check({**fault, "api_answers": {"200": 8, "500": 2}})["pass"]
    print_report(
        {
            "started": "2026-12-06T04:00:00+00:00",
            "broker": "rabbitmq",
            "command": "python -m drills.fault --broker rabbitmq",
            "faults": [fault],
            "load": {"requests": 10, "failures": 0},
            "integrity": {"sent": 5, "by_kind": {}},
            "drain": {"seconds": 1.0},
            "checks": [check],
            "pass": True,
            "seconds": 60,
        }
    )
    out = capsys.readouterr().out
    assert "broker: rabbitmq" in out and "rabbitmq away:" in out
