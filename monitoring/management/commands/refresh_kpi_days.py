from datetime import date

from django.core.management.base import BaseCommand

from monitoring.services.kpi_days import kpi_days_refresh


class Command(BaseCommand):
    help = (
        "Store the flow KPIs of every closed day not stored yet, and recompute those that "
        "late events touched (what the periodic task does a slice at a time): after a "
        "deployment on years of history, or with --recompute-from after a correction made "
        "outside the services."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--recompute-from",
            type=date.fromisoformat,
            default=None,
            help="also recompute every stored day since this date (YYYY-MM-DD)",
        )

    def handle(self, *args, recompute_from, **options):
        computed = runs = 0
        while True:  # one transaction per slice, as the task's runs
            result = kpi_days_refresh(recompute_from=recompute_from)
            recompute_from = None
            computed, runs = computed + result["stored"], runs + 1
            if not result["left"]:
                break
        self.stdout.write(f"{computed} days computed in {runs} transactions")
