from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from monitoring.models import ProcessHeartbeat
from monitoring.services import process_heartbeat_record


@pytest.mark.django_db
def test_check_heartbeat_fails_without_a_fresh_heartbeat():
    with pytest.raises(CommandError):
        call_command("check_heartbeat")
    process_heartbeat_record(process="worker")
    call_command("check_heartbeat", "--max-age", "60")
    ProcessHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(CommandError):
        call_command("check_heartbeat", "--max-age", "60")
