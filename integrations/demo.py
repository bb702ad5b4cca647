"""Demo connected systems: the fake ERP and WMS that `make run` starts."""

from __future__ import annotations

import os

from integrations.models import Node
from integrations.services import node_pull_schedule_ensure

DEMO_NODES = [
    {
        "name": "erp",
        "kind": Node.Kind.ERP,
        "port_variable": "FAKE_ERP_PORT",
        "default_port": 8101,
        "subscriptions": ["work_order.", "operation.", "stock."],
        "pull_kinds": ["materials", "production_orders", "purchase_receipts"],
    },
    {
        "name": "wms",
        "kind": Node.Kind.WMS,
        "port_variable": "FAKE_WMS_PORT",
        "default_port": 8102,
        "subscriptions": ["stock."],
        "pull_kinds": [],
    },
]


def load(stdout) -> None:
    """Create the demo nodes once (existing ones keep their settings)."""
    for spec in DEMO_NODES:
        port = os.environ.get(spec["port_variable"], str(spec["default_port"]))
        node, created = Node.objects.get_or_create(
            name=spec["name"],
            defaults={
                "kind": spec["kind"],
                "transport": Node.Transport.HTTP_JSON,
                "base_url": f"http://127.0.0.1:{port}",
                "subscriptions": spec["subscriptions"],
                "pull_kinds": spec["pull_kinds"],
                "timeout_seconds": 5,
            },
        )
        if created:
            node_pull_schedule_ensure(node_id=node.pk)
            stdout.write(f"Connected system {node.name}: {node.base_url}")
