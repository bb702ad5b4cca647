"""What the dashboards read besides orders and stock: incidents with their repeats
(floor faults among them, with their fault reports), the scanners, stall
thresholds, resource samples of the last week and the store's cycle counts."""

from __future__ import annotations

import json
import random

from drills.scale.master import PREFIX, Plant
from drills.scale.plan import DAY, HOUR, PlantSize
from drills.scale.writer import TableWriter
from inventory.count_models import CountEvent, CountLine, CountTask
from mes.roles import Role
from monitoring.models import Incident, IncidentOccurrence, ResourceSample, StallThreshold
from workorders.models import FaultReport, FloorDevice

MINUTE = 60
# (code, severity, category, title, source kind); floor faults are the first four.
INCIDENT_KINDS = (
    ("FLR-001", "B", "equipment", "Equipment fault reported from the floor.", "work_center"),
    ("FLR-002", "C", "material", "Material problem reported from the floor.", "work_center"),
    ("FLR-003", "B", "quality", "Quality problem reported from the floor.", "work_center"),
    ("FLR-004", "C", "other", "Problem reported from the floor.", "work_center"),
    ("MON-042", "B", "integration", "Deliveries to a node are late.", "node"),
    ("MON-043", "B", "integration", "Too many messages wait for a node.", "node"),
    ("MON-011", "C", "resources", "CPU usage is high.", "host"),
    ("MON-021", "C", "resources", "Memory usage is high.", "host"),
    ("MON-004", "C", "process", "The scheduler (beat) has not run recently.", "host"),
    ("SYS-001", "B", "errors", "Server errors above the threshold.", "host"),
)
OPEN_SHARE = 0.01


def build_extras(
    size: PlantSize,
    rng: random.Random,
    out: TableWriter,
    plant: Plant,
    operation_ids: tuple[int, int],
    stock: dict,
) -> dict:
    made = {"incidents": IncidentBuilder(size, rng, out, plant, operation_ids).build()}
    made["counts"] = _counts(size, rng, out, plant, stock)
    _devices_and_samples(size, rng, out, plant)
    out.flush()
    return made


INCIDENT_COLUMNS = (
    "id code severity category source work_center title detail state occurrences release "
    "first_seen_at last_seen_at acknowledged_at acknowledged_by_id resolved_at resolved_by_id "
    "reported_by_id escalation_level escalated_at"
)
FAULT_COLUMNS = (
    "id idempotency_key request_fingerprint category note photo work_center_id operation_id "
    "incident_id reported_by_id device_id occurred_at recorded_at"
)
KIND_WEIGHTS = (30, 12, 10, 8, 6, 4, 10, 8, 6, 6)


class IncidentBuilder:
    def __init__(self, size, rng, out, plant, operation_ids):
        self.size, self.rng, self.out, self.plant = size, rng, out, plant
        self.operation_ids = operation_ids
        self.incidents = out.open(Incident, INCIDENT_COLUMNS)
        self.repeats = out.open(IncidentOccurrence, "id incident_id occurred_at cause_code")
        self.faults = out.open(FaultReport, FAULT_COLUMNS)
        self.incident_id = out.next_id(Incident)
        self.repeat_id = out.next_id(IncidentOccurrence)
        self.fault_id = out.next_id(FaultReport)
        self.responders = plant.users[Role.TEAM_LEADER] + plant.users[Role.MAINTENANCE]
        self.open_keys: set[tuple[str, str]] = set()

    def build(self) -> int:
        size, rng = self.size, self.rng
        span = size.end - size.start
        times = sorted(size.start + int(rng.random() * span) for _ in range(size.incidents))
        for n, first in enumerate(times):
            self._incident(n, first)
            self.out.maybe_flush()
        return len(times)

    def _incident(self, n: int, first: int) -> None:
        rng, out, plant = self.rng, self.out, self.plant
        code, severity, category, title, kind = rng.choices(INCIDENT_KINDS, KIND_WEIGHTS)[0]
        center = rng.choice(plant.work_centers)
        center_code = plant.work_center_codes[center] if kind == "work_center" else ""
        source = {
            "work_center": f"work_center:{center_code}",
            "node": rng.choice(("node:erp", "node:wms")),
            "host": f"host:{PREFIX.lower()}-app-{n % 2 + 1}",
        }[kind]
        count = rng.choice((1, 1, 1, 2, 3, 5))
        last = max(first, min(first + (count - 1) * rng.randint(MINUTE, HOUR), self.size.end - 1))
        state, acked, resolved = self._outcome(code, source, first)
        responder = rng.choice(self.responders)
        reporter, detail = None, {}
        if kind == "work_center":
            reporter = rng.choice(plant.users[Role.WORKER])
            detail = {"category": category, "work_center": center_code}
            detail["fault_report"] = self._fault(category, center, reporter, first)
        out.add(self.incidents, (
            self.incident_id, code, severity, category, source, center_code,
            f"{title} {center_code}".strip(), json.dumps(detail), state, count, "1.0.0",
            out.ts(first), out.ts(last), _ts(out, acked), responder if acked else None,
            _ts(out, resolved), responder if resolved else None, reporter, 0, None,
        ))  # fmt: skip
        for k in range(count):
            at = first + k * (last - first) // max(1, count - 1)
            out.add(self.repeats, (self.repeat_id, self.incident_id, out.ts(at), ""))
            self.repeat_id += 1
        self.incident_id += 1

    def _outcome(self, code: str, source: str, first: int):
        """(state, acknowledged, resolved): the last days' and a few older ones still open,
        at most one unresolved per code and source."""
        rng, end = self.rng, self.size.end
        state = "resolved"
        late = first > end - 3 * DAY
        if (late or rng.random() < OPEN_SHARE) and (code, source) not in self.open_keys:
            state = rng.choice(("open", "acknowledged"))
            self.open_keys.add((code, source))
        acked = first + rng.randint(2 * MINUTE, 2 * HOUR) if state != "open" else None
        if state == "acknowledged" and acked >= end:
            acked, state = None, "open"  # its key is reserved above: still one unresolved
        resolved = None
        if state == "resolved":  # both before the end of the span
            acked = min(acked, max(first, end - 2))
            resolved = min(acked + rng.randint(10 * MINUTE, 8 * HOUR), max(acked, end - 1))
        return state, acked, resolved

    def _fault(self, category: str, center: int, reporter: int, at: int) -> int:
        """The floor's fault report behind a work-center incident; returns its id."""
        operation = None
        if self.operation_ids[1]:
            operation = self.rng.randint(*self.operation_ids)
        fault_id = self.fault_id
        self.fault_id += 1
        self.out.add(self.faults, (
            fault_id, f"{PREFIX}-F{fault_id}", "", category, "reported on the line", "", center,
            operation, self.incident_id, reporter, self.rng.choice(self.plant.devices),
            self.out.ts(at), self.out.ts(at + 2),
        ))  # fmt: skip
        return fault_id


def _ts(out: TableWriter, seconds: int | None) -> str | None:
    return None if seconds is None else out.ts(seconds)


COUNT_TASK_COLUMNS = (
    "id idempotency_key request_fingerprint title state blind cutoff_at recount_threshold scope "
    "created_by_id created_at approved_by_id approved_at"
)
COUNT_LINE_COLUMNS = (
    "id task_id material_id location_id batch_id book_quantity counted_quantity needs_recount "
    "recount_quantity counted_by_id counted_at movement_id"
)


def _counts(size, rng, out, plant, stock: dict) -> int:
    """A cycle count a week over the span (approved, as counted) and one still counting."""
    tasks = out.open(CountTask, COUNT_TASK_COLUMNS)
    lines = out.open(CountLine, COUNT_LINE_COLUMNS)
    events = out.open(CountEvent, "id task_id kind from_state to_state actor_id note at")
    task_id, line_id, event_id = (out.next_id(m) for m in (CountTask, CountLine, CountEvent))
    keys = sorted(stock)
    weeks = max(2, size.days // 7)
    supervisor = plant.users[Role.SUPERVISOR][0]
    for week in range(weeks):
        at = size.start + week * 7 * DAY + 9 * HOUR
        done = week < weeks - 1
        keeper = rng.choice(plant.users[Role.STOREKEEPER])
        out.add(tasks, (
            task_id, f"{PREFIX}-C{task_id}", "", f"Cycle count week {week + 1}",
            "approved" if done else "counting", True, out.ts(at), 5, "zone", keeper, out.ts(at),
            supervisor if done else None, out.ts(at + 6 * HOUR) if done else None,
        ))  # fmt: skip
        # Book quantities are today's: the count is of the same keys, not of the past.
        for material, location, batch in rng.sample(keys, min(len(keys), 30)):
            book = stock[(material, location, batch)]
            out.add(lines, (
                line_id, task_id, material, location, batch or None, book,
                book if done else None, False, None, keeper if done else None,
                out.ts(at + 2 * HOUR) if done else None, None,
            ))  # fmt: skip
            line_id += 1
        out.add(events, (event_id, task_id, "created", "", "counting", keeper, "", out.ts(at)))
        event_id += 1
        if done:
            approved = out.ts(at + 6 * HOUR)
            out.add(events, (event_id, task_id, "approved", "review", "approved", supervisor,
                             "", approved))  # fmt: skip
            event_id += 1
        task_id += 1
    return weeks


def _devices_and_samples(size, rng, out, plant) -> None:
    devices = out.open(FloorDevice, "id name note token_hash is_active created_at")
    device_id = out.next_id(FloorDevice)
    for n, name in enumerate(plant.devices):
        out.add(devices, (device_id + n, name, "", "", False, out.ts(size.start)))
    thresholds = out.open(StallThreshold, "id work_center_id stall_minutes incident_minutes")
    threshold_id = out.next_id(StallThreshold)
    for n, center in enumerate(plant.work_centers):
        out.add(thresholds, (threshold_id + n, center, 240, 480))
    samples = out.open(
        ResourceSample, "id sampled_at hostname cpu_percent memory_percent disk_percent"
    )
    sample_id = out.next_id(ResourceSample)
    host = f"{PREFIX.lower()}-app-1"
    for n, at in enumerate(range(size.end - 7 * DAY, size.end, 5 * MINUTE)):
        cpu, memory = round(rng.uniform(5, 60), 1), round(rng.uniform(30, 70), 1)
        out.add(samples, (sample_id + n, out.ts(at), host, cpu, memory, 41.0))
