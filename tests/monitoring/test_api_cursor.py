"""GET /api/v1/incidents/ pages by cursor, newest first; ``?page=N`` as before."""

import pytest

from mes.errors import SYS_BROKER_UNAVAILABLE
from mes.pagination import CursorOrPageNumbers
from monitoring.errors import CPU_HIGH_C
from monitoring.models import Incident
from monitoring.services import incident_raise


@pytest.mark.django_db
def test_every_incident_once_while_new_ones_are_raised(api_client, user_with_role, monkeypatch):
    monkeypatch.setattr(CursorOrPageNumbers, "page_size", 4)
    api_client.force_authenticate(user_with_role("supervisor"))
    for n in range(9):
        incident_raise(error=CPU_HIGH_C, source=f"host:h{n}:cpu")
    before = list(Incident.objects.order_by("-id").values_list("pk", flat=True))
    seen, url, raised = [], "/api/v1/incidents/?severity=C", iter(range(100, 200))
    while url:
        body = api_client.get(url).json()
        seen += [incident["id"] for incident in body["results"]]
        incident_raise(error=CPU_HIGH_C, source=f"host:h{next(raised)}:cpu")
        incident_raise(error=SYS_BROKER_UNAVAILABLE, source=f"broker-{next(raised)}")
        url = body["next"]
    assert seen == before
    legacy = api_client.get("/api/v1/incidents/?page=1&severity=A").json()
    assert legacy["count"] == 3 and len(legacy["results"]) == 3
