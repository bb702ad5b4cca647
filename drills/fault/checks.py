"""After the faults: the outbox and the work-order transitions (Django must be set up)."""

from __future__ import annotations

from drills.database import fresh_connection
from drills.fault.readings import floor_transition_counts, outbox_rows


def outbox_check(fakes: dict) -> dict:
    """Every message delivered; each system applied each once, in order per aggregate."""
    fresh_connection()
    result = {"messages": 0, "delivered": 0, "received": 0, "duplicates_refused": 0}
    problems: list[str] = []
    for name, fake in fakes.items():
        rows = outbox_rows(name)
        received = fake.received()
        ids = [m["message_id"] for m in received["messages"]]
        result["messages"] += len(rows)
        result["delivered"] += sum(1 for _pk, _id, state in rows if state == "delivered")
        result["received"] += len(ids)
        result["duplicates_refused"] += received.get("duplicates", 0)
        result[f"{name}_messages"] = len(rows)
        problems += _received_problems(name, rows, received["messages"])
    result["problems"] = problems[:10]
    result["ok"] = not problems and result["delivered"] == result["messages"] == result["received"]
    return result


def _received_problems(name: str, rows: list, messages: list[dict]) -> list[str]:
    """Messages a system applied twice, missed or got out of order (by outbox id)."""
    problems = []
    order = {str(message_id): pk for pk, message_id, _state in rows}
    ids = [m["message_id"] for m in messages]
    if len(ids) != len(set(ids)):
        problems.append(f"{name}: {len(ids) - len(set(ids))} messages applied twice")
    if set(ids) != set(order):
        missing = len(set(order) - set(ids))
        problems.append(f"{name}: {missing} missing, {len(set(ids) - set(order))} unknown")
    last: dict[str, int] = {}
    for message in messages:
        pk = order.get(message["message_id"], 0)
        aggregate = message["aggregate_key"]
        if pk < last.get(aggregate, 0):
            problems.append(f"{name}: {aggregate} out of order")
        last[aggregate] = max(pk, last.get(aggregate, 0))
    return problems


def transitions_check() -> dict:
    counts = floor_transition_counts()
    return {**counts, "ok": counts["doubled_keys"] == 0 and counts["doubled_operation_moves"] == 0}
