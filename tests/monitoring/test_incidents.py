import pytest

from mes.errors import SYS_BROKER_UNAVAILABLE
from monitoring.models import Incident
from monitoring.services import incident_acknowledge, incident_raise, incident_resolve


@pytest.mark.django_db
def test_repeats_are_grouped_until_resolved(user_with_role):
    first = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    again = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    other = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:wms")
    assert again.pk == first.pk and again.occurrences == 2
    assert other.pk != first.pk
    assert first.severity == "A"
    supervisor = user_with_role("supervisor")
    incident_acknowledge(actor=supervisor, incident_id=first.pk)
    resolved = incident_resolve(actor=supervisor, incident_id=first.pk)
    assert resolved.state == "resolved" and resolved.acknowledged_by == supervisor
    reopened = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    assert reopened.pk != first.pk and reopened.occurrences == 1
    assert Incident.objects.count() == 3
