"""Demo connected systems: the fake ERP and WMS that `make run` starts, and a week of
reconciliation to look at.

Both nodes offer their stock snapshot (``stock_snapshot`` among the pulled
record kinds), so "Pull from the configured ERP and WMS" on the
reconciliation page compares our stock with the fakes'. The WMS is compared
on storage locations only (it does not see pending put-away or the line
side). A repair policy makes the WMS right for storage locations, with no
repair unasked: its differences wait for a supervisor's approval.

So that the history and its trend are not empty on the first visit, the demo
runs the reconciliation once a night for the past week and once today, on
the snapshots the fakes start with (``drills/fakes/demo_*.json``; a test keeps
the two equal), through the same code as a real run. The demo's stock was all
posted when the demo was loaded, so every demo night is compared at that
moment; the past nights are dry runs (nothing repaired), and a little of each
past night's WMS count drifts, as counts do. Today's run leaves its
differences waiting for approval.

Nodes, policy and runs are created once; a demo node from before the nodes
offered snapshots is given them.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.models import Node, ReconciliationRun, RepairPolicy
from integrations.reconciliation import (
    reconciliation_execute,
    reconciliation_run_start,
    snapshot_rows_from_records,
)
from integrations.services import node_pull_schedule_ensure
from inventory.models import Location

SNAPSHOT = "stock_snapshot"
DEMO_NODES = [
    {
        "name": "erp",
        "kind": Node.Kind.ERP,
        "port_variable": "FAKE_ERP_PORT",
        "default_port": 8101,
        "subscriptions": ["work_order.", "operation.", "stock."],
        "pull_kinds": ["materials", "production_orders", "purchase_receipts", SNAPSHOT],
        "reconciled_location_types": [],
    },
    {
        "name": "wms",
        "kind": Node.Kind.WMS,
        "port_variable": "FAKE_WMS_PORT",
        "default_port": 8102,
        "subscriptions": ["stock."],
        "pull_kinds": [SNAPSHOT],
        "reconciled_location_types": [Location.Type.STORAGE],
    },
]

# The fakes' stock at start (drills/fakes/demo_erp.json and demo_wms.json): the WMS
# lost the leading zero of 0200117, counts 2 fewer of 100235 and has no oil seals.
ERP_SNAPSHOT = [
    {"material": "100234", "batch": "L2401", "location": "FG-A-01", "quantity": "1250"},
    {"material": "100235", "batch": "L2402", "location": "FG-A-02", "quantity": "300"},
    {"material": "0200117", "batch": None, "location": "RM-A-01", "quantity": "4000"},
    {"material": "0200117", "batch": None, "location": "RM-A-02", "quantity": "800"},
    {"material": "0200118", "batch": "S-88", "location": "RM-B-01", "quantity": "96"},
]
WMS_SNAPSHOT = [
    {"material": "100234", "batch": "L2401", "location": "FG-A-01", "quantity": "1250"},
    {"material": "100235", "batch": "L2402", "location": "FG-A-02", "quantity": "298"},
    {"material": "200117", "batch": None, "location": "RM-A-01", "quantity": "4000"},
    {"material": "200117", "batch": None, "location": "RM-A-02", "quantity": "800"},
]
# Past nights, oldest first: how far the WMS count of bearings in RM-A-01 was off.
NIGHT_DRIFT = [0, 5, 0, -3, 0, 12, 0]
DEMO_POLICY = {
    "category": "",
    "location_type": Location.Type.STORAGE,
    "source_of_truth": RepairPolicy.Truth.WMS,
    "auto_limit_quantity": 0,
    "auto_limit_percent": 0,
    "priority": 10,
}
RUN_BY = "planner"  # created by mes.demo


def _node(spec: dict) -> tuple[Node, bool]:
    port = os.environ.get(spec["port_variable"], str(spec["default_port"]))
    node, created = Node.objects.get_or_create(
        name=spec["name"],
        defaults={
            "kind": spec["kind"],
            "transport": Node.Transport.HTTP_JSON,
            "base_url": f"http://127.0.0.1:{port}",
            "subscriptions": spec["subscriptions"],
            "pull_kinds": spec["pull_kinds"],
            "reconciled_location_types": spec["reconciled_location_types"],
            "timeout_seconds": 5,
        },
    )
    if not created and SNAPSHOT not in (node.pull_kinds or []):
        # A demo node from before the nodes offered snapshots.
        node.pull_kinds = [*(node.pull_kinds or []), SNAPSHOT]
        node.reconciled_location_types = (
            node.reconciled_location_types or spec["reconciled_location_types"]
        )
        node.save(update_fields=["pull_kinds", "reconciled_location_types"])
    return node, created


def _drifted(records: list[dict], drift: int) -> list[dict]:
    if not drift:
        return records
    return [
        {**record, "quantity": str(int(record["quantity"]) + drift)}
        if record["location"] == "RM-A-01"
        else record
        for record in records
    ]


def _reconciliation_week(nodes: dict[str, Node]) -> int:
    """A dry run for each of the past nights and today's run; none if any run exists."""
    if ReconciliationRun.objects.exists():
        return 0
    moment = timezone.now()
    today = timezone.localdate(moment)
    planner = get_user_model().objects.filter(username=RUN_BY).first()
    nights = [
        (today - timedelta(days=len(NIGHT_DRIFT) - index), drift)
        for index, drift in enumerate(NIGHT_DRIFT)
    ]
    for night, drift in [*nights, (today, 0)]:
        is_today = night == today
        run, _fresh = reconciliation_run_start(
            trigger=ReconciliationRun.Trigger.MANUAL
            if is_today
            else ReconciliationRun.Trigger.SCHEDULE,
            run_date=night,
            cutoff_at=moment,
            dry_run=not is_today,
            actor=planner if is_today else None,
        )
        reconciliation_execute(
            run,
            {
                "erp": snapshot_rows_from_records(nodes["erp"], ERP_SNAPSHOT),
                "wms": snapshot_rows_from_records(nodes["wms"], _drifted(WMS_SNAPSHOT, drift)),
            },
        )
    return len(nights) + 1


def load(stdout) -> None:
    """Create the demo nodes, the repair policy and the week of runs once."""
    nodes = {}
    for spec in DEMO_NODES:
        node, created = _node(spec)
        nodes[node.name] = node
        if created:
            node_pull_schedule_ensure(node_id=node.pk)
            stdout.write(f"Connected system {node.name}: {node.base_url}")
    if not RepairPolicy.objects.exists():
        RepairPolicy.objects.create(**DEMO_POLICY)
    runs = _reconciliation_week(nodes)
    if runs:
        stdout.write(f"Reconciliation demo: {runs} runs, the last one waits for approval.")
