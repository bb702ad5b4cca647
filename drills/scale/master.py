"""Master data of the plant: people and their roles, materials, locations, work
centers, teams, shifts and routings with their bills of materials."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from drills.scale.plan import PlantSize
from drills.scale.writer import TableWriter
from inventory.models import Location, Material
from mes.demo import DEMO_PASSWORD
from mes.roles import Role
from workorders.models import (
    Routing,
    RoutingComponent,
    RoutingOperation,
    Shift,
    Team,
    WorkCenter,
)

PREFIX = "PL"  # every code and user name of the generated plant starts with it
OPERATION_NAMES = ("Cut", "Turn", "Mill", "Drill", "Weld", "Bend", "Paint", "Assemble", "Test")
UNITS = (("PCS", 0), ("PCS", 0), ("PCS", 0), ("KG", 0), ("M", 0))
# The users a benchmark signs in as (password: the demo password).
LOGIN_USERS = {
    Role.PLANNER: f"{PREFIX.lower()}-planner-1",
    Role.SUPERVISOR: f"{PREFIX.lower()}-supervisor-1",
    Role.STOREKEEPER: f"{PREFIX.lower()}-storekeeper-1",
    Role.WORKER: f"{PREFIX.lower()}-worker-0001",
    Role.TEAM_LEADER: f"{PREFIX.lower()}-leader-01",
    Role.MAINTENANCE: f"{PREFIX.lower()}-maintenance-1",
}


@dataclass
class RoutingStep:
    operation_id: int
    sequence: int
    name: str
    work_center: int
    setup: int  # minutes
    run: str  # minutes per unit, as text
    inspection: bool
    components: list[tuple[int, int]]  # (material id, quantity per unit)


@dataclass
class Plant:
    users: dict[str, list[int]] = field(default_factory=dict)  # role -> ids
    products: list[int] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    batch_tracked: set[int] = field(default_factory=set)
    material_codes: dict[int, str] = field(default_factory=dict)
    storage: list[int] = field(default_factory=list)
    pending_putaway: list[int] = field(default_factory=list)
    quality_hold: int = 0
    work_centers: list[int] = field(default_factory=list)
    work_center_codes: dict[int, str] = field(default_factory=dict)
    line_side: dict[int, int] = field(default_factory=dict)  # work center -> location
    routings: dict[int, list[RoutingStep]] = field(default_factory=dict)  # product -> steps
    home_bins: dict[int, list[int]] = field(default_factory=dict)  # material -> storage bins
    devices: list[str] = field(default_factory=list)


def build_master(size: PlantSize, rng: random.Random, out: TableWriter) -> Plant:
    plant = Plant()
    _users(size, out, plant)
    _materials(size, rng, out, plant)
    _locations(size, rng, out, plant)
    _work_centers(size, rng, out, plant)
    _routings(size, rng, out, plant)
    plant.devices = [f"{PREFIX}-SCAN-{n:03d}" for n in range(max(4, size.workers // 3))]
    out.flush()
    return plant


def _users(size: PlantSize, out: TableWriter, plant: Plant) -> None:
    """Accounts per role; they share one password hash (fixed salt: same rows every build)."""
    password = make_password(DEMO_PASSWORD, salt="plantseed2years0")
    joined = out.ts(size.start - 30 * 86400)
    users = out.open(
        User,
        "id password is_superuser username first_name last_name email is_staff is_active "
        "date_joined",
    )
    memberships = out.open(User.groups.through, ["id", "user_id", "group_id"], "role memberships")
    groups = dict(Group.objects.values_list("name", "pk"))
    people = [
        (Role.PLANNER, "planner", 3, "{}"),
        (Role.SUPERVISOR, "supervisor", 2, "{}"),
        (Role.STOREKEEPER, "storekeeper", size.storekeepers, "{}"),
        (Role.TEAM_LEADER, "leader", max(2, size.work_centers // 4), "{:02d}"),
        (Role.MAINTENANCE, "maintenance", 2, "{}"),
        (Role.WORKER, "worker", size.workers, "{:04d}"),
    ]
    user_id = out.next_id(User)
    membership_id = out.next_id(User.groups.through)
    for role, word, count, number in people:
        plant.users[role] = []
        for n in range(1, count + 1):
            name = f"{PREFIX.lower()}-{word}-{number.format(n)}"
            staff = role in (Role.SUPERVISOR, Role.TEAM_LEADER)
            out.add(
                users,
                (
                    user_id,
                    password,
                    False,
                    name,
                    word.title(),
                    str(n),
                    "",
                    staff,
                    True,
                    joined,
                ),
            )
            out.add(memberships, (membership_id, user_id, groups[role.value]))
            plant.users[role].append(user_id)
            user_id += 1
            membership_id += 1


def _materials(size: PlantSize, rng: random.Random, out: TableWriter, plant: Plant) -> None:
    table = out.open(
        Material,
        "id code name specification unit decimal_places category is_batch_tracked allow_negative "
        "safety_stock abc_class standard_cost is_active",
    )
    next_id = out.next_id(Material)
    for n in range(size.materials):
        material_id = next_id + n
        product = n < size.products
        code = f"{PREFIX}-FG-{n + 1:05d}" if product else f"{PREFIX}-RM-{n + 1:05d}"
        unit, places = ("PCS", 0) if product else UNITS[n % len(UNITS)]
        batch = not product and n % 5 == 0
        abc = "ABC"[min(2, int(rng.random() * 3))]
        safety = rng.choice((0, 0, 50, 100, 200, 500)) if not product else rng.choice((0, 20))
        out.add(
            table,
            (
                material_id,
                code,
                f"{'Product' if product else 'Part'} {n + 1}",
                f"spec {n % 97}",
                unit,
                places,
                "finished" if product else f"group-{n % 12}",
                batch,
                False,
                safety,
                abc,
                f"{rng.randint(1, 400)}.50",
                True,
            ),
        )
        plant.material_codes[material_id] = code
        (plant.products if product else plant.raw).append(material_id)
        if batch:
            plant.batch_tracked.add(material_id)


def _locations(size: PlantSize, rng: random.Random, out: TableWriter, plant: Plant) -> None:
    table = out.open(Location, "id code name parent_id level location_type is_active")
    next_id = out.next_id(Location)
    warehouse = next_id
    out.add(
        table, (warehouse, f"{PREFIX}-WH", "Main warehouse", None, "warehouse", "storage", True)
    )
    zones = [warehouse + 1 + z for z in range(4)]
    for z, zone in enumerate(zones):
        out.add(
            table, (zone, f"{PREFIX}-Z{z + 1}", f"Zone {z + 1}", warehouse, "zone", "storage", True)
        )
    location_id = zones[-1] + 1
    specials = [
        ("PPA-1", "pending_putaway"),
        ("PPA-2", "pending_putaway"),
        ("WIP", "wip"),
        ("QH", "quality_hold"),
    ]
    for code, kind in specials:
        out.add(table, (location_id, f"{PREFIX}-{code}", code, warehouse, "bin", kind, True))
        if kind == "pending_putaway":
            plant.pending_putaway.append(location_id)
        elif kind == "quality_hold":
            plant.quality_hold = location_id
        location_id += 1
    # Line side per work center (written with the work centers), storage bins the rest.
    bins = max(12, size.locations - 9 - size.work_centers)
    for n in range(bins):
        zone = zones[n % 4]
        code = f"{PREFIX}-Z{n % 4 + 1}-{n // 4 + 1:03d}"
        out.add(table, (location_id, code, code, zone, "bin", "storage", True))
        plant.storage.append(location_id)
        location_id += 1
    for wc in range(size.work_centers):
        code = f"{PREFIX}-LS-{wc + 1:02d}"
        out.add(
            table, (location_id, code, f"Line side {wc + 1}", warehouse, "bin", "line_side", True)
        )
        plant.line_side[wc] = location_id  # by index until the work centers have ids
        location_id += 1
    for material in plant.raw + plant.products:
        plant.home_bins[material] = rng.sample(plant.storage, min(len(plant.storage), 4))


def _work_centers(size: PlantSize, rng: random.Random, out: TableWriter, plant: Plant) -> None:
    centers = out.open(WorkCenter, ["id", "code", "name", "capacity", "is_active"])
    next_id = out.next_id(WorkCenter)
    line_side = {}
    for n in range(size.work_centers):
        center_id = next_id + n
        code = f"{PREFIX}-WC{n + 1:02d}"
        out.add(centers, (center_id, code, f"Cell {n + 1}", 1 + (n % 3 == 0) + (n % 7 == 0), True))
        plant.work_centers.append(center_id)
        plant.work_center_codes[center_id] = code
        line_side[center_id] = plant.line_side[n]
    plant.line_side = line_side
    teams = out.open(Team, ["id", "code", "name", "leader_id"])
    members = out.open(Team.members.through, ["id", "team_id", "user_id"], "team members")
    center_teams = out.open(
        WorkCenter.teams.through, ["id", "workcenter_id", "team_id"], "work-center teams"
    )
    team_id, member_id, link_id = (
        out.next_id(m) for m in (Team, Team.members.through, WorkCenter.teams.through)
    )
    leaders = plant.users[Role.TEAM_LEADER]
    workers = plant.users[Role.WORKER]
    for t, leader in enumerate(leaders):
        out.add(teams, (team_id + t, f"{PREFIX}-T{t + 1:02d}", f"Team {t + 1}", leader))
        for worker in workers[t :: len(leaders)]:
            out.add(members, (member_id, team_id + t, worker))
            member_id += 1
    for n, center in enumerate(plant.work_centers):
        out.add(center_teams, (link_id + n, center, team_id + n % len(leaders)))
    shifts = out.open(Shift, ["id", "name", "starts", "ends", "weekdays"])
    shift_id = out.next_id(Shift)
    for n, (name, starts, ends) in enumerate(
        (
            ("early", "06:00:00", "14:00:00"),
            ("late", "14:00:00", "22:00:00"),
            ("night", "22:00:00", "06:00:00"),
        )
    ):
        out.add(shifts, (shift_id + n, f"{PREFIX} {name}", starts, ends, "0,1,2,3,4,5"))


def _routings(size: PlantSize, rng: random.Random, out: TableWriter, plant: Plant) -> None:
    routings = out.open(Routing, ["id", "product_id", "code", "is_default"])
    operations = out.open(
        RoutingOperation,
        "id routing_id sequence name work_center_id setup_minutes run_minutes_per_unit "
        "inspection_after",
    )
    components = out.open(
        RoutingComponent,
        "id operation_id material_id quantity_per_unit issue_method issue_location_id",
    )
    routing_id = out.next_id(Routing)
    operation_id = out.next_id(RoutingOperation)
    component_id = out.next_id(RoutingComponent)
    for n, product in enumerate(plant.products):
        out.add(routings, (routing_id + n, product, f"{PREFIX}-R-{n + 1:05d}", True))
        steps = []
        for s in range(rng.choice((2, 3, 3, 4))):
            center = rng.choice(plant.work_centers)
            name = rng.choice(OPERATION_NAMES)
            setup, run = rng.choice((10, 15, 30, 45)), f"{rng.randint(1, 12) / 4:.3f}"
            inspection = rng.random() < 0.1
            out.add(
                operations,
                (operation_id, routing_id + n, (s + 1) * 10, name, center, setup, run, inspection),
            )
            parts = []
            for material in rng.sample(plant.raw, rng.choice((0, 1, 1, 2))):
                per_unit = rng.choice((1, 1, 2, 4))
                out.add(
                    components,
                    (
                        component_id,
                        operation_id,
                        material,
                        per_unit,
                        "backflush",
                        plant.line_side[center],
                    ),
                )
                parts.append((material, per_unit))
                component_id += 1
            steps.append(
                RoutingStep(operation_id, (s + 1) * 10, name, center, setup, run, inspection, parts)
            )
            operation_id += 1
        plant.routings[product] = steps
