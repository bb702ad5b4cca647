"""Build the plant: master data, orders, stock, the rest; what was made and how long it took."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from drills.scale.extras import build_extras
from drills.scale.master import PREFIX, build_master
from drills.scale.orders import OrderBuilder
from drills.scale.plan import PlantSize
from drills.scale.stock import StockBuilder
from drills.scale.writer import TableWriter
from inventory.models import Material

MARKER = f"{PREFIX}-FG-00001"  # the first product: the plant is there when it is


class PlantExists(Exception):
    pass


@dataclass
class BuildResult:
    size: PlantSize
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    write_seconds: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        size = self.size
        lines = [
            f"plant: {size.years} years to {size.until}, scale {size.scale}, seed {size.seed}",
            *(f"  {name:<28} {count:>10,}" for name, count in sorted(self.rows.items())),
            "  " + ", ".join(f"{k} {v:,}" for k, v in self.figures.items()),
            "  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items()),
            f"built in {self.seconds:.1f} s",
        ]
        return lines


def plant_exists() -> bool:
    return Material.objects.filter(code=MARKER).exists()


def build_plant(size: PlantSize) -> BuildResult:
    """Write the whole plant; refuses when it is already there (``PlantExists``)."""
    if plant_exists():
        raise PlantExists(MARKER)
    started = time.perf_counter()
    rng = random.Random(size.seed)
    out = TableWriter()
    phases: dict[str, float] = {}

    def phase(name: str, work):
        begun = time.perf_counter()
        result = work()
        out.flush()
        phases[name] = time.perf_counter() - begun
        return result

    plant = phase("master data", lambda: build_master(size, rng, out))
    orders = phase("work orders", lambda: OrderBuilder(size, rng, out, plant).build())
    stock_builder = StockBuilder(size, rng, out, plant)
    stock = phase("stock", lambda: stock_builder.build(orders))
    extras = phase(
        "incidents and counts",
        lambda: build_extras(size, rng, out, plant, orders.operation_ids, stock_builder.stock),
    )
    phase("sequences and statistics", out.finish)
    return BuildResult(
        size=size,
        seconds=time.perf_counter() - started,
        rows=dict(out.counts),
        write_seconds={k: round(v, 2) for k, v in out.seconds.items()},
        phases=phases,
        figures={
            "work orders": orders.orders,
            "open orders": orders.open_orders,
            "floor actions": orders.floor_actions,
            "ledger entries": stock["ledger"],
            "balances": stock["balances"],
            "incidents": extras["incidents"],
        },
    )
