"""Roles as groups, and the permissions each role holds by default.

The groups are created by a migration (``mes/migrations/0001``); the table
below is applied after every ``migrate`` so that an app that adds a model
adds its permissions here and every installation follows.
Shift-based temporary grants (work orders) come on top of these defaults.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    PLANNER = "planner", _("Planner")
    WORKER = "worker", _("Worker")
    TEAM_LEADER = "team_leader", _("Team leader")
    SUPERVISOR = "supervisor", _("Supervisor")
    MAINTENANCE = "maintenance", _("Maintenance")
    STOREKEEPER = "storekeeper", _("Storekeeper")
    DIRECTOR = "director", _("Workshop director")


# Roles that work in the Django admin (is_staff is set for their demo users).
ADMIN_ROLES = frozenset({Role.SUPERVISOR, Role.TEAM_LEADER})

# "app_label.codename" per role. A codename ending in "*" means every
# permission of that app whose codename starts with the prefix.
_INVENTORY_VIEW = [
    "inventory.view_material",
    "inventory.view_location",
    "inventory.view_batch",
    "inventory.view_stockbalance",
    "inventory.view_stockmovement",
    "inventory.view_stockledgerentry",
    "inventory.view_stockreservation",
]
_INVENTORY_MASTER_DATA = [
    f"inventory.{action}_{model}"
    for action in ("add", "change")
    for model in ("material", "location", "batch")
]
_RESERVE = ["inventory.add_stockreservation", "inventory.change_stockreservation"]
# Stock movements, one permission per type (inventory.services.MOVEMENT_PERMISSIONS).
# On the line: issue, return, put away and move stock between places.
_LINE_MOVES = [
    "inventory.issue_stock",
    "inventory.return_stock",
    "inventory.put_away_stock",
    "inventory.transfer_stock",
]
# The store room also receives goods (and imports the receipts other systems export)
# and scraps what is damaged, with a reason.
_STORE_ROOM_MOVES = ["inventory.receive_stock", "inventory.scrap_stock", *_LINE_MOVES]
# Counts: the store room creates and counts them; a supervisor approves the differences.
_COUNT = ["inventory.view_counttask", "inventory.add_counttask", "inventory.enter_count"]
# Adjustments, counts, reversals and completions by hand are supervisors'.
_ALL_MOVES = [
    *_STORE_ROOM_MOVES,
    "inventory.post_completion",
    "inventory.adjust_stock",
    "inventory.count_stock",
    "inventory.reverse_stockmovement",
]
_WORKORDERS_VIEW = [
    f"workorders.view_{model}"
    for model in (
        "team",
        "workcenter",
        "routing",
        "routingoperation",
        "workorder",
        "workorderoperation",
        "workorderevent",
        "shift",
    )
]
_WORKORDERS_MASTER_DATA = [
    f"workorders.{action}_{model}"
    for action in ("add", "change")
    for model in ("workcenter", "routing", "routingoperation", "routingcomponent", "team")
]
_OPERATE = ["workorders.operate_workorder"]
# Skills and rosters (docs/staffing.md): everyone sees the matrix; team leaders certify,
# keep the roster and give grants for a shift to their teams; planners keep the roster.
_STAFFING_VIEW = ["workorders.view_skill", "workorders.view_qualification"]
_ROSTER = [
    "workorders.view_post",
    "workorders.view_rosterentry",
    "workorders.add_rosterentry",
    "workorders.delete_rosterentry",
    "workorders.view_grantrule",
    "workorders.view_staffingevent",
]
_LEAD_SHIFT = [
    "workorders.change_qualification",
    "workorders.view_temporarygrant",
    "workorders.lead_shift",
]
_PLAN = [
    "workorders.add_workorder",
    "workorders.dispatch_workorder",
    "workorders.cancel_workorder",
    # The planning board: see the plan, place and re-sequence operations, edit calendars.
    "planning.view_*",
    "planning.plan_operations",
    "planning.add_calendarexception",
    "planning.change_calendarexception",
    "planning.add_eligibleworkcenter",
    "planning.change_eligibleworkcenter",
    "planning.change_workcentercalendar",
    "planning.add_workcentercalendar",
]
_LEAD = ["workorders.assign_workorder", "workorders.inspect_workorder"]
# Shop floor: fault reports, and the device actions the server set aside.
_REPORT_FAULTS = ["workorders.add_faultreport"]
_FLOOR_FOLLOW_UP = [
    "workorders.view_faultreport",
    "workorders.view_flooractionrejection",
    "workorders.change_flooractionrejection",
]
_MONITORING_VIEW = [
    "monitoring.view_incident",
    "monitoring.view_dashboards",
    "monitoring.view_stabilityreport",
]
_INTEGRATIONS_VIEW = [
    "integrations.view_node",
    "integrations.view_outboxmessage",
    "integrations.view_inboundrecord",
    "integrations.view_inboundfile",
    "integrations.view_reconciliationrun",
    "integrations.view_discrepancy",
]

# Quality checks: build, publish and attach (a director: his teams' only), and the records.
_QUALITY_RECORDS = ["quality.view_steprecords"]
_QUALITY_STEPS = ["quality.manage_steptemplate", *_QUALITY_RECORDS]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.PLANNER: [
        "django_celery_beat.view_*",
        *_INVENTORY_VIEW,
        *_INVENTORY_MASTER_DATA,
        *_RESERVE,
        *_WORKORDERS_VIEW,
        *_WORKORDERS_MASTER_DATA,
        *_PLAN,
        *_STAFFING_VIEW,
        *_ROSTER,
        *_INTEGRATIONS_VIEW,
        "integrations.add_reconciliationrun",
        *_MONITORING_VIEW,
        "simulation.view_scenario",
        "simulation.run_scenario",
    ],
    Role.WORKER: [
        *_INVENTORY_VIEW,
        # Puts away; issues only to his own operation (workorders.operate_workorder).
        "inventory.put_away_stock",
        *_WORKORDERS_VIEW,
        *_OPERATE,
        *_REPORT_FAULTS,
        *_STAFFING_VIEW,
    ],
    Role.TEAM_LEADER: [
        "django_celery_beat.view_*",
        *_INVENTORY_VIEW,
        *_RESERVE,
        *_LINE_MOVES,
        *_WORKORDERS_VIEW,
        *_OPERATE,
        *_LEAD,
        *_STAFFING_VIEW,
        *_ROSTER,
        *_LEAD_SHIFT,
        *_REPORT_FAULTS,
        *_FLOOR_FOLLOW_UP,
        *_QUALITY_RECORDS,
        *_INTEGRATIONS_VIEW,
        *_MONITORING_VIEW,
    ],
    Role.SUPERVISOR: [
        "django_celery_beat.*",
        *_INVENTORY_VIEW,
        *_INVENTORY_MASTER_DATA,
        "inventory.delete_material",
        "inventory.delete_location",
        "inventory.delete_batch",
        *_RESERVE,
        *_ALL_MOVES,
        *_COUNT,
        "inventory.approve_count",
        "workorders.*",
        "planning.*",
        "integrations.*",
        "monitoring.*",
        "quality.*",
        "simulation.*",
        "auditlog.view_logentry",
        # Releases, snapshots and feature flags (docs/releases.md).
        "releases.*",
    ],
    Role.MAINTENANCE: [
        *_INVENTORY_VIEW,
        *_WORKORDERS_VIEW,
        *_REPORT_FAULTS,
        *_STAFFING_VIEW,
        "workorders.view_faultreport",
        "monitoring.view_incident",
        "monitoring.acknowledge_incident",
    ],
    Role.STOREKEEPER: [
        *_INVENTORY_VIEW,
        *_STORE_ROOM_MOVES,
        *_COUNT,
        *_STAFFING_VIEW,
        "integrations.view_node",
        "integrations.view_inboundfile",
        "integrations.add_inboundfile",
    ],
    # A workshop director builds his teams' checks and attaches them to their routings.
    Role.DIRECTOR: [
        *_INVENTORY_VIEW,
        *_WORKORDERS_VIEW,
        *_STAFFING_VIEW,
        *_QUALITY_STEPS,
        *_MONITORING_VIEW,
    ],
}


def role_names_of(user) -> list[str]:
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role.value for role in Role if role.value in names]


def sync_role_permissions(sender=None, **kwargs) -> None:
    """Give each role group exactly the permissions the table names."""

    using = kwargs.get("using", "default")
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = set()
        for pattern in patterns:
            app_label, codename = pattern.split(".", 1)
            permissions = Permission.objects.using(using).filter(content_type__app_label=app_label)
            if codename.endswith("*"):
                permissions = permissions.filter(codename__startswith=codename[:-1])
            else:
                permissions = permissions.filter(codename=codename)
            wanted.update(permissions.values_list("pk", flat=True))
        group.permissions.set(wanted)
