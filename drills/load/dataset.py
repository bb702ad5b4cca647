"""The traffic's fixture from a plant's own data (``--dataset``), instead of the synthetic seed.

``run.py`` loads the dataset (``manage.py loaddata``: a file made by
``export_drill_dataset --anonymize``) into the freshly migrated drill
database; ``seed_from_dataset`` then picks what the Locust users drive from it
and returns the same fixture as ``seed.seed``:

- scanners: the dataset's active users (workers first, then the others; up to
  ``WORKER_USERS``), each given the worker and storekeeper roles, an API token
  (tokens are never exported), a place in every team and every skill, so that
  the drill measures the system, not the plant's rosters;
- the planner: a user of the dataset with the planner role (else any other),
  with the demo password (exported passwords are unusable);
- the ERP: the dataset's ``erp`` node, with a new inbound token;
- work orders: the dataset's products that have a default routing; the work
  orders are created and dispatched for them like the plant's own, and every
  scanner slot owns its own;
- stock: the dataset's storage, line-side and pending put-away locations and
  its active materials that are not batch-tracked, topped up by a receipt (or
  a completion) per balance, so no issue of a run finds a balance empty.

Only the drill's own database is changed.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import Group, User

from drills.console import drill_log as log
from drills.load.seed import (
    WORKER_USERS,
    _dispatched_work_orders,
    _seed_stock,
    _stock_items,
)
from integrations.models import Node
from integrations.services import node_token_rotate
from inventory.models import Location, Material
from mes.demo import DEMO_PASSWORD
from mes.roles import Role
from mes.tokens import api_token_create
from workorders.models import Routing, Team
from workorders.staffing_models import Qualification, Skill

MATERIALS = 40  # at most this many materials to move, issue and put away
MAX_LEVEL = 3


class DatasetError(RuntimeError):
    """The dataset lacks what the traffic needs (a product with a routing, locations ...)."""


def _pick_users() -> tuple[list[User], User]:
    users = User.objects.filter(is_active=True).order_by("pk")
    workers = list(users.filter(groups__name=Role.WORKER).distinct())
    workers += [u for u in users if u not in workers and not u.is_superuser]
    planner = (
        users.filter(groups__name=Role.PLANNER).first()
        or next((u for u in users if u not in workers[:WORKER_USERS]), None)
        or (workers[0] if workers else None)
    )
    if not workers or planner is None:
        raise DatasetError("the dataset has no active users")
    return workers[:WORKER_USERS], planner


def _scanners(workers: list[User]) -> list[dict]:
    groups = list(Group.objects.filter(name__in=[Role.WORKER, Role.STOREKEEPER]))
    teams = list(Team.objects.all())
    skills = list(Skill.objects.all())
    scanners = []
    for user in workers:
        user.groups.add(*groups)
        for team in teams:
            team.members.add(user)
        for skill in skills:
            Qualification.objects.update_or_create(
                user=user,
                skill=skill,
                defaults={"level": MAX_LEVEL, "certified_on": date.today(), "expires_on": None},
            )
        key = api_token_create(actor=None, user=user, name="load drill").key
        scanners.append({"username": user.username, "token": key})
    return scanners


def _planner_login(planner: User) -> dict:
    planner.set_password(DEMO_PASSWORD)
    planner.save(update_fields=["password"])
    planner.groups.add(*Group.objects.filter(name=Role.PLANNER))
    return {"username": planner.username, "password": DEMO_PASSWORD}


def _locations() -> tuple[list[str], str, str]:
    def codes(kind: str) -> list[str]:
        return list(
            Location.objects.filter(location_type=kind, is_active=True)
            .order_by("code")
            .values_list("code", flat=True)
        )

    storage = codes(Location.Type.STORAGE)
    pending = codes(Location.Type.PENDING_PUTAWAY)
    line_side = codes(Location.Type.LINE_SIDE)
    if not (storage and pending and line_side):
        raise DatasetError(
            "the dataset needs active storage, line-side and pending put-away locations"
        )
    return storage[:20], pending[0], line_side[0]


def seed_from_dataset(options) -> dict:
    """``options`` needs ``users``, ``duration`` and ``dataset`` (for the log)."""
    workers, planner = _pick_users()
    routing = (
        Routing.objects.filter(is_default=True, product__is_active=True)
        .select_related("product")
        .order_by("pk")
        .first()
    )
    if routing is None:
        raise DatasetError("the dataset has no product with a default routing")
    materials = list(
        Material.objects.filter(is_active=True, is_batch_tracked=False)
        .exclude(pk=routing.product_id)
        .order_by("code")[:MATERIALS]
    )
    if len(materials) < 2:
        raise DatasetError("the dataset needs at least two active materials without batches")
    storage, pending, line_side = _locations()
    log(
        f"dataset {options.dataset}: {len(workers)} scanner accounts, planner "
        f"{planner.username}, product {routing.product.code}, {len(materials)} materials, "
        f"{len(storage)} storage locations"
    )
    scanners = _scanners(workers)
    login = _planner_login(planner)
    half = max(1, len(materials) // 2)
    components, finished = materials[:half], materials[half:] or materials[:1]
    _seed_stock(
        None,
        _stock_items(materials, storage, "receipt")
        + _stock_items(components, [line_side], "receipt")
        + _stock_items(finished, [pending], "completion"),
    )
    slots = _dispatched_work_orders(planner, routing.product, pending, options)
    erp = Node.objects.filter(name="erp").first()
    if erp is None:
        raise DatasetError("the dataset has no ERP node named 'erp'")
    return {
        "workers": scanners,
        "slots": slots,
        "any_operation": slots[0][0],
        "planner": login,
        "erp": {"token": node_token_rotate(node_id=erp.pk)},
        "issue": {"materials": [m.code for m in components], "location": line_side},
        "put_away": {"materials": [m.code for m in finished], "from": pending, "to": storage},
        "stock": {"materials": [m.code for m in materials], "locations": storage},
        "receipts": {"materials": [m.code for m in materials], "location": storage[0]},
    }
