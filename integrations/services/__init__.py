"""Every write of integrations, one module per concern: the outbox and its
delivery, node tokens, inbound records and pulls, stock file imports."""

from integrations.services.files import (
    inbound_file_fail,
    inbound_file_import,
    inbound_file_process,
    inbound_file_submit,
    inbound_file_upload_path,
)
from integrations.services.inbound import (
    INBOUND_APPLIERS,
    MASTER_DATA_KINDS,
    InboundItemResult,
    inbound_records_apply,
    movement_source,
    node_pull,
    node_pull_schedule_ensure,
)
from integrations.services.nodes import node_for_token, node_token_revoke, node_token_rotate
from integrations.services.outbox import (
    OUTBOX,
    DeliveryOutcome,
    outbox_message_deliver,
    outbox_messages_replay,
    outbox_rows_write,
    outbox_sweep,
)
from mes.outbox import outbox_message_create, outbox_messages_create

__all__ = [
    "INBOUND_APPLIERS",
    "MASTER_DATA_KINDS",
    "OUTBOX",
    "DeliveryOutcome",
    "InboundItemResult",
    "inbound_file_fail",
    "inbound_file_import",
    "inbound_file_process",
    "inbound_file_submit",
    "inbound_file_upload_path",
    "inbound_records_apply",
    "movement_source",
    "node_for_token",
    "node_pull",
    "node_pull_schedule_ensure",
    "node_token_revoke",
    "node_token_rotate",
    "outbox_message_create",
    "outbox_message_deliver",
    "outbox_messages_create",
    "outbox_messages_replay",
    "outbox_rows_write",
    "outbox_sweep",
]
