"""``python manage.py seed_plant --years 2 [--scale F] [--seed N] [--until YYYY-MM-DD]``.

A mid-size plant over the given years, for measuring pages on realistic volumes
(``drills/scale/``, ``docs/benchmarks.md``): at ``--scale 1`` and two years,
2,000 materials x 200 locations, ~5M ledger rows with their movements and
balances, 100k work orders with their operations and events (~1M floor
actions), 50k incidents, and the people, work centers and routings behind them.

The same arguments give the same rows: everything comes from ``--seed``, and
times are counted back from ``--until`` (00:00 UTC; default today). Rows go in
with COPY on PostgreSQL and ``executemany`` on SQLite; no constraint, index or
trigger is dropped. The plant's codes start with ``PL-``; a database that
already has it is left alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.core.management.base import BaseCommand, CommandError

from drills.scale.build import PlantExists, build_plant
from drills.scale.plan import plant_size


class Command(BaseCommand):
    help = "Build a mid-size plant's data over the given years (deterministic)."

    def add_arguments(self, parser):
        parser.add_argument("--years", type=float, default=2.0, help="span of history (2)")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the mid-size plant (1)"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
        parser.add_argument(
            "--until", type=date.fromisoformat, default=None, help="last day (default: today)"
        )

    def handle(self, *args, **options):
        years, scale = options["years"], options["scale"]
        if not 0 < years <= 10:
            raise CommandError("--years is more than 0 and at most 10")
        if not 0 < scale <= 10:
            raise CommandError("--scale is more than 0 and at most 10")
        until = options["until"] or datetime.now(UTC).date()
        size = plant_size(years=years, scale=scale, seed=options["seed"], until=until)
        self.stdout.write(
            f"building a plant: {size.materials} materials, {size.locations} locations, "
            f"{size.work_orders:,} work orders, ~{size.ledger_rows:,} ledger rows, "
            f"{size.incidents:,} incidents"
        )
        try:
            result = build_plant(size)
        except PlantExists as exc:
            raise CommandError(f"the plant is already in this database ({exc})") from exc
        for line in result.lines():
            self.stdout.write(line)
