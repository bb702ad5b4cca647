"""Write outbox messages from any layer, in the transaction of the change.

Whatever must reach ERP or WMS is written to the outbox together with the
change that caused it (architecture.md, invariant 4). Stock and work orders
sit below integrations, which stores the messages per node and delivers them;
the kernel states the API and integrations installs the writer when Django
starts (``IntegrationsConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

OutboxEvent = tuple[str, str, dict[str, Any]]  # (event_type, aggregate_key, payload)
OutboxWriter = Callable[[Sequence[OutboxEvent]], list]

_writer: OutboxWriter | None = None


def install_outbox_writer(writer: OutboxWriter) -> None:
    global _writer
    _writer = writer


def outbox_messages_create(events: Sequence[OutboxEvent]) -> list:
    """Append the messages for ``events`` in their order; they are sent after commit.

    Refuses to run outside a transaction: a message written apart from its
    change could exist without it, or the change without it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox messages are written inside the change's transaction")
    if not events:
        return []
    if _writer is None:
        raise RuntimeError("no outbox writer installed (is the integrations app installed?)")
    return _writer(events)


def outbox_message_create(*, event_type: str, aggregate_key: str, payload: dict[str, Any]) -> list:
    """:func:`outbox_messages_create` for one event."""
    return outbox_messages_create([(event_type, aggregate_key, payload)])
