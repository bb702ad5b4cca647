from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from integrations.models import OutboxMessage


def outbox_message_create(
    *, event_type: str, aggregate_key: str, payload: dict[str, Any], target: str = "erp"
) -> OutboxMessage:
    """Append a message for another system; call it inside the business transaction.

    Refuses to run outside a transaction: a message written apart from its
    change could exist without the change, or the change without it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox messages are written inside the change's transaction")
    plain = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return OutboxMessage.objects.create(
        target=target, event_type=event_type, aggregate_key=aggregate_key, payload=plain
    )
