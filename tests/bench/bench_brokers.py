"""Benchmark: what publishing one task costs on each broker, and what confirms add.

Run it with ``.venv/bin/python -m tests.bench.bench_brokers [--messages N]`` (also
part of ``make bench``). Not part of ``make test``.

For each broker that answers here (the filesystem always; Redis at
``--redis-url``; RabbitMQ at ``--amqp-url``, in a virtual host of its own that the
bench creates and deletes), it publishes ``--messages`` persistent messages of a
task's size to the project's task queue, declared as the project declares it
(``mes.brokers``: a durable quorum queue on RabbitMQ) and with the project's
transport options, one publish at a time as a web request does. It measures
the wall time and the process CPU time per publish. On RabbitMQ it also
publishes the same messages without publisher confirms: the raw limit of the
same broker in the same run, so the ratio says what waiting for the confirm
costs, whatever the load of the machine. Each configuration runs ``--runs``
times; the table gives the median and the spread (max - min) of the runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kombu import Connection, Exchange, Producer

from mes import brokers

ROOT = Path(__file__).resolve().parents[2]
BODY = {
    "task": "integrations.deliver_outbox_message",
    "id": "",
    "args": [123456],
    "kwargs": {},
    "retries": 0,
    "eta": None,
    "headers": {"lang": "py", "root_id": "", "parent_id": None, "group": None},
    "padding": "x" * 200,
}


def _queue(kind: str):
    if kind == brokers.RABBITMQ:
        return brokers.rabbitmq_task_queues()[0]
    return None


def publish_run(url: str, kind: str, options: dict, messages: int) -> dict:
    """Publish ``messages`` one at a time; returns wall and CPU microseconds per publish."""
    with Connection(url, transport_options=options) as connection:
        connection.ensure_connection(max_retries=3)
        queue = _queue(kind)
        if queue is not None:
            queue.bind(connection.default_channel).declare()
            exchange = queue.exchange
        else:
            exchange = Exchange("")  # the default exchange: straight to the queue
        producer = Producer(connection.default_channel, exchange=exchange, auto_declare=False)
        wall_started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(messages):
            body = {**BODY, "id": str(uuid.uuid4())}
            producer.publish(
                body, routing_key=brokers.TASK_QUEUE, serializer="json", delivery_mode=2
            )
        wall = time.perf_counter() - wall_started
        cpu = time.process_time() - cpu_started
        if queue is not None:
            queue.bind(connection.default_channel).purge()
        else:
            connection.default_channel.queue_purge(brokers.TASK_QUEUE)
    return {"wall_us": wall / messages * 1e6, "cpu_us": cpu / messages * 1e6}


def configurations(args, workdir: Path) -> list[tuple[str, str, str, dict]]:
    """(label, url, kind, transport options) of every broker that answers here."""
    found = [
        (
            "filesystem",
            "filesystem://",
            brokers.FILESYSTEM,
            brokers.transport_options(brokers.FILESYSTEM, workdir / "broker"),
        )
    ]
    try:
        with Connection(args.redis_url, connect_timeout=2) as probe:
            probe.ensure_connection(max_retries=1)
        found.append(
            (
                "redis",
                args.redis_url,
                brokers.REDIS,
                brokers.transport_options(brokers.REDIS, workdir),
            )
        )
    except Exception as exc:  # not running here: skipped, said so
        print(f"redis skipped: {exc}")
    if args.amqp_url:
        confirms = brokers.transport_options(brokers.RABBITMQ, workdir)
        found.append(("rabbitmq (confirms)", args.amqp_url, brokers.RABBITMQ, confirms))
        found.append(("rabbitmq (no confirms: raw limit)", args.amqp_url, brokers.RABBITMQ, {}))
    return found


def rabbitmq_vhost(vhost: str, create: bool) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    commands = (
        [["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]]
        if create
        else [["delete_vhost", vhost]]
    )
    for command in commands:
        done = subprocess.run(["rabbitmqctl", *command], capture_output=True, check=False)
        if done.returncode != 0:
            return False
    return True


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_brokers")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--vhost", default="mes_bench_brokers")
    args = parser.parse_args(argv)
    args.amqp_url = (
        f"amqp://guest:guest@127.0.0.1:5672/{args.vhost}"
        if rabbitmq_vhost(args.vhost, create=True)
        else ""
    )
    workdir = Path(tempfile.mkdtemp(prefix="mes-bench-brokers-"))
    results: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "rows": []}
    try:
        for label, url, kind, options in configurations(args, workdir):
            runs = [publish_run(url, kind, options, args.messages) for _ in range(args.runs)]
            row = {"broker": label, "messages": args.messages, "runs": runs}
            for key in ("wall_us", "cpu_us"):
                values = [run[key] for run in runs]
                row[key] = statistics.median(values)
                row[f"{key}_spread"] = max(values) - min(values)
            results["rows"].append(row)
    finally:
        if args.amqp_url:
            rabbitmq_vhost(args.vhost, create=False)
        shutil.rmtree(workdir, ignore_errors=True)
    raw = next((r for r in results["rows"] if "raw limit" in r["broker"]), None)
    print(f"{'broker':36} {'wall us/publish':>18} {'cpu us/publish':>18} {'x raw':>7}")
    for row in results["rows"]:
        ratio = (
            f"{row['wall_us'] / raw['wall_us']:.2f}" if raw and "rabbitmq" in row["broker"] else ""
        )
        print(
            f"{row['broker']:36} {row['wall_us']:10.0f} ±{row['wall_us_spread']:5.0f} "
            f"{row['cpu_us']:10.0f} ±{row['cpu_us_spread']:5.0f} {ratio:>7}"
        )
    out = ROOT / "benchmarks-out"
    out.mkdir(exist_ok=True)
    path = out / f"bench-brokers-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written: {path}")
    return results


if __name__ == "__main__":
    main()
