"""The admin index is ordered for a supervisor's day: daily work first, technical
records in a section of their own, last; the URLs stay Django's."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from mes.admin_site import SECTIONS, TECHNICAL, MesAdminSite, grouped_app_list, permission_label
from tests.factories import UserFactory

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}


def captions(html: str) -> list[str]:
    return re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', html)


def section(html: str, key: str) -> str:
    """The index's block of one section (``<div class="app-section-<key> module">``)."""
    start = html.index(f'<div class="app-section-{key} module')
    end = html.find('<div class="app-', start + 1)
    return html[start : end if end != -1 else len(html)]


@pytest.mark.django_db
def test_a_supervisor_sees_the_days_work_first_and_the_technical_records_last(client):
    client.force_login(UserFactory(roles=["supervisor"]))

    response = client.get(reverse("admin:index"), **ZH)

    html = response.content.decode()
    sections = captions(html)
    assert sections[0] == "日常工作"
    assert sections[-1] == "技术记录"
    daily = section(html, "daily")
    order = [
        "/admin/workorders/workorder/",
        "/admin/workorders/temporarygrant/",
        "/admin/integrations/discrepancy/?repair__exact=pending",
        "/admin/monitoring/incident/",
        "/admin/workorders/flooractionrejection/?resolved_at__isempty=1",
    ]
    positions = [daily.index(f'href="{url}"') for url in order]
    assert positions == sorted(positions)
    assert "待审批的差异" in daily
    technical = section(html, "technical")
    for url in (
        "/admin/django_celery_beat/periodictask/",
        "/admin/monitoring/processheartbeat/",
        "/admin/monitoring/endpointstat/",
        "/admin/monitoring/resourcesample/",
        "/admin/integrations/outboxmessage/",
    ):
        assert f'href="{url}"' in technical and f'href="{url}"' not in daily
    assert "Audit log" not in html and "AUDIT LOG" not in html


@pytest.mark.django_db
def test_the_urls_and_one_apps_page_stay_djangos(client):
    client.force_login(UserFactory(roles=["supervisor"]))

    assert isinstance(admin.site, MesAdminSite)
    app_page = client.get("/admin/workorders/", **ZH).content.decode()
    assert client.get("/admin/integrations/discrepancy/?repair__exact=pending").status_code == 200
    assert (
        client.get("/admin/workorders/flooractionrejection/?resolved_at__isempty=1").status_code
        == 200
    )
    assert captions(app_page) == ["工单"]  # the app's own section, not the day's


def test_a_model_no_section_names_keeps_its_apps_section_before_the_technical_one():
    def model(label):
        app_label, name = label.split(".")
        return {"object_name": name, "name": name, "admin_url": f"/admin/{app_label}/{name}/"}

    app_list = [
        {"app_label": "workorders", "name": "工单", "models": [model("workorders.WorkOrder")]},
        {"app_label": "newapp", "name": "新应用", "models": [model("newapp.Widget")]},
        {
            "app_label": "monitoring",
            "name": "监控",
            "models": [model("monitoring.ProcessHeartbeat")],
        },
    ]

    grouped = grouped_app_list(app_list)

    assert [section["app_label"] for section in grouped] == [
        "section-daily",
        "newapp",
        "section-technical",
    ]
    named = {label for _key, _title, entries in [*SECTIONS, TECHNICAL] for label, *_ in entries}
    assert len(named) == sum(len(entries) for _key, _title, entries in [*SECTIONS, TECHNICAL])


@pytest.mark.django_db
def test_permissions_are_named_in_the_readers_language(client):
    dispatch = Permission.objects.get(codename="dispatch_workorder")
    add = Permission.objects.get(codename="add_workorder")
    with translation.override("zh-hans"):
        assert permission_label(dispatch) == "工单 | 可以派工、退回和重新排产工单"
        assert permission_label(add) == "工单 | 可以新增工单"
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    page = client.get(reverse("admin:workorders_temporarygrant_add"), **ZH).content.decode()
    assert "可以新增工单" in page and "Can add work order" not in page
    group_page = client.get(reverse("admin:auth_group_add"), **ZH).content.decode()
    assert "可以新增工单" in group_page
