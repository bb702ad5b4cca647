from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from monitoring.models import ProcessHeartbeat


class Command(BaseCommand):
    help = (
        "Exit 0 when the process heartbeat is fresh, else 1. Beat schedules the heartbeat "
        "and a worker records it, so a fresh one means both run (compose healthcheck)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--process", default="worker")
        parser.add_argument("--max-age", type=int, default=120, help="seconds")

    def handle(self, *args, process, max_age, **options):
        cutoff = timezone.now() - timedelta(seconds=max_age)
        heartbeat = ProcessHeartbeat.objects.filter(process=process).first()
        if heartbeat is None or heartbeat.last_seen_at < cutoff:
            raise CommandError(f"no {process} heartbeat in the last {max_age} s")
        self.stdout.write(f"{process} seen at {heartbeat.last_seen_at.isoformat()}")
