"""How big the plant is and the span of time it covers.

At ``scale=1`` and ``years=2`` the plant is the issue's mid-size plant:
2,000 materials x 200 locations, ~5M ledger rows, 100k work orders with
their operations and events (~1M floor actions), 50k incidents. Volumes
grow with ``scale x years / 2``; master data with ``scale`` (with floors so
that a tiny plant still has every kind of thing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

DAY = 86400
HOUR = 3600


@dataclass(frozen=True)
class PlantSize:
    seed: int
    years: float
    scale: float
    until: date  # the span ends at 00:00 UTC of this day
    materials: int
    products: int
    locations: int
    work_centers: int
    workers: int
    storekeepers: int
    work_orders: int
    ledger_rows: int
    incidents: int

    @property
    def end(self) -> int:
        return int(
            datetime(self.until.year, self.until.month, self.until.day, tzinfo=UTC).timestamp()
        )

    @property
    def start(self) -> int:
        return self.end - int(self.years * 365 * DAY)

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY

    def as_dict(self) -> dict:
        data = asdict(self)
        data["until"] = self.until.isoformat()
        return data


def plant_size(*, years: float, scale: float, seed: int, until: date) -> PlantSize:
    volume = scale * years / 2
    materials = max(40, round(2000 * scale))
    return PlantSize(
        seed=seed,
        years=years,
        scale=scale,
        until=until,
        materials=materials,
        products=max(6, materials * 3 // 20),
        locations=max(30, round(200 * scale)),
        work_centers=max(4, round(40 * scale)),
        workers=max(12, round(300 * scale)),
        storekeepers=max(2, round(20 * scale)),
        work_orders=max(30, round(100_000 * volume)),
        ledger_rows=max(3000, round(5_000_000 * volume)),
        incidents=max(20, round(50_000 * volume)),
    )
