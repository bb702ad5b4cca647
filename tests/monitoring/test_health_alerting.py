"""The health page's new parts: outside services, connection use and the slowest statements."""

from __future__ import annotations

import pytest
from django.db import connection

from monitoring.db_stats import connection_use, top_statements
from monitoring.models import CheckedEndpoint

pytestmark = pytest.mark.django_db


def test_the_health_page_shows_outside_services_and_the_database(client, user_with_role):
    CheckedEndpoint.objects.create(
        name="sms-gateway", kind="sms", url="http://127.0.0.1:9/", state="open", refused_calls=7
    )
    client.force_login(user_with_role("supervisor"))
    body = client.get("/monitoring/", headers={"Accept-Language": "en"}).content.decode()
    assert "sms-gateway" in body and "Cut off" in body and ">7<" in body
    if connection.vendor == "postgresql":
        use = connection_use()
        assert use.used >= 1 and use.max_connections >= use.used
        assert f"of {use.max_connections}" in body
        statements, note = top_statements()
        assert statements is not None or note in body
    else:
        assert "Connection use is shown on PostgreSQL only." in body
        assert "Only on PostgreSQL." in body


@pytest.mark.postgres
def test_connection_states_are_named_in_words():
    use = connection_use()
    assert use is not None
    assert all(label and "_" not in label for label, _count in use.states)
