"""Incidents in the admin and on the pages: titles, categories and details in the
reader's language; notification rules pick categories by name."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from mes.errors import REGISTRY
from mes.incidents import incident_raise
from monitoring.errors import WORK_ORDER_STALLED
from monitoring.labels import category_label, incident_facts, incident_title
from monitoring.models import Incident, NotificationChannel, NotificationRule
from monitoring.services.resources import resource_sample_record
from tests.factories import UserFactory

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}


@pytest.fixture
def disk_incident(db):
    start = timezone.now() - timedelta(minutes=3)
    with translation.override("en"):  # raised by a worker that speaks English
        for minute in range(3):  # a full disk for the whole window, not one sample
            resource_sample_record(
                cpu=10.0,
                memory=20.0,
                disk=99.0,
                hostname="mes-app-01",
                now=start + timedelta(minutes=minute),
            )
    return Incident.objects.get(category="resource")


def test_a_resource_incident_reads_in_chinese(disk_incident):
    with translation.override("zh-hans"):
        title = incident_title(disk_incident)
        facts = {label: value for label, value, _code in incident_facts(disk_incident)}
        category = category_label("resource")

    with translation.override("en"):
        english = str(REGISTRY[disk_incident.code].message)
    assert disk_incident.title == english  # stored as raised
    assert title != english and not re.search(r"[A-Za-z]{3,}", title)
    assert category == "服务器资源"
    assert facts["资源"] == "磁盘" and facts["主机"] == "mes-app-01"
    assert facts["使用率"] == "99.0 %"


@pytest.mark.django_db
def test_the_admin_and_the_incident_page_show_no_raw_codes_of_the_detail(client, disk_incident):
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/monitoring/incident/", **ZH).content.decode()
    change = client.get(f"/admin/monitoring/incident/{disk_incident.pk}/change/", **ZH)
    page = client.get(f"/monitoring/incidents/{disk_incident.pk}/", **ZH).content.decode()

    assert ">服务器资源<" in listing and ">resource<" not in listing
    html = change.content.decode()
    assert "资源: 磁盘" in html and "{&#x27;resource" not in html and '{"resource"' not in html
    assert "<dt>资源</dt><dd>磁盘</dd>" in page and "<dt>resource</dt>" not in page
    assert "服务器资源" in page


@pytest.mark.django_db
def test_a_stall_title_is_rebuilt_from_its_detail(db):
    now = timezone.now()
    incident = incident_raise(
        error=WORK_ORDER_STALLED,
        source="stall:WO-1",
        category="stall",
        title="WO-1: Waiting for material",
        detail={"work_order": "WO-1", "reason": "waiting_material", "age_minutes": 95.0},
        now=now,
    )
    with translation.override("zh-hans"):
        title = incident_title(incident)
        facts = {label: value for label, value, _code in incident_facts(incident)}
    assert title.startswith("WO-1: ") and "Waiting" not in title
    assert facts["已停滞"] == "95.0 分钟"


@pytest.mark.django_db
def test_a_rule_picks_its_category_by_name(client):
    channel = NotificationChannel.objects.create(name="ops", kind="webhook", url="http://x.test")
    client.force_login(UserFactory(roles=["supervisor"]))

    form = client.get("/admin/monitoring/notificationrule/add/", **ZH).content.decode()
    response = client.post(
        "/admin/monitoring/notificationrule/add/",
        {
            "name": "资源告警",
            "channel": channel.pk,
            "severities": "AB",
            "category": "resource",
            "work_center": "",
            "escalation_level": 0,
            "is_active": "on",
        },
    )
    listing = client.get("/admin/monitoring/notificationrule/", **ZH).content.decode()

    assert '<option value="resource">服务器资源</option>' in form
    assert response.status_code == 302
    assert NotificationRule.objects.get(name="资源告警").category == "resource"
    assert ">服务器资源<" in listing
