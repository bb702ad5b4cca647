from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from integrations.models import Node, OutboxMessage


@dataclass
class NodeSyncStatus:
    node: Node
    backlog: int
    oldest_pending_at: datetime | None
    dead_letters: int

    @property
    def lag(self) -> timedelta | None:
        """Age of the oldest undelivered message: how far behind the node is."""
        if self.oldest_pending_at is None:
            return None
        return timezone.now() - self.oldest_pending_at


def node_sync_status_list() -> list[NodeSyncStatus]:
    """Per node: last successes, last error, backlog, lag and dead letters (one query)."""
    pending = Q(outbox__state=OutboxMessage.State.PENDING)
    nodes = Node.objects.annotate(
        backlog=Count("outbox", filter=pending),
        oldest_pending_at=Min("outbox__created_at", filter=pending),
        dead_letters=Count("outbox", filter=Q(outbox__state=OutboxMessage.State.DEAD)),
    ).order_by("name")
    return [
        NodeSyncStatus(node, node.backlog, node.oldest_pending_at, node.dead_letters)
        for node in nodes
    ]


def inbound_file_list():
    from integrations.models import InboundFile

    return InboundFile.objects.select_related("node", "actor").order_by("-id")
