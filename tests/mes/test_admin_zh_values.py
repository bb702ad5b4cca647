"""What the admin shows beyond labels, in the reader's language: logged yes/no values
in words, no permission pickers full of permissions that grant nothing, and URL
patterns shown as code."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.db.models import BooleanField, CharField
from django.urls import reverse
from django.utils import timezone, translation

from mes.admin_site import _change_value
from monitoring.models import EndpointStat
from tests.factories import UserFactory

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}


def test_a_logged_yes_no_value_is_shown_in_words():
    with translation.override("zh-hans"):
        assert _change_value("True", BooleanField()) == "是"
        assert _change_value("False", BooleanField()) == "否"
        assert _change_value("True", CharField()) == "True"  # a text that says True stays
        assert _change_value(None, BooleanField()) == "\u2014"


@pytest.mark.django_db
def test_permission_pickers_leave_out_waffles_unused_models(client):
    assert Permission.objects.filter(content_type__app_label="waffle").exists()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    for name in ("admin:auth_group_add", "admin:workorders_temporarygrant_add"):
        page = client.get(reverse(name), **ZH).content.decode()

        assert "django-waffle" not in page
        assert "可以新增工单" in page


@pytest.mark.django_db
def test_request_statistics_show_routes_as_code_without_a_page_per_row(client):
    route = "/admin/^(?P<app_label>auth|workorders)/$"
    EndpointStat.objects.create(
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        method="GET",
        route=route,
        count=3,
    )
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    page = client.get(reverse("admin:monitoring_endpointstat_changelist"), **ZH).content.decode()

    assert "<code>/admin/^(?P&lt;app_label&gt;auth|workorders)/$</code>" in page
    assert not re.search(r'href="/admin/monitoring/endpointstat/\d+/change/', page)
