"""The audit log: a change of master data through the admin records who, what, before and after."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from mes.audit import AUDITED_MODELS
from tests.factories import MaterialFactory


def _form_data(response) -> dict:
    """The admin change form's current values, as the browser would post them."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    for formset in response.context.get("inline_admin_formsets", []):
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


@pytest.fixture
def supervisor(user_with_role):
    return user_with_role("supervisor", is_staff=True)


@pytest.mark.django_db
def test_an_admin_change_is_logged_with_the_actor_and_the_changed_fields(client, supervisor):
    material = MaterialFactory(name="Bracket, old")
    client.force_login(supervisor)
    url = reverse("admin:inventory_material_change", args=[material.pk])
    data = _form_data(client.get(url))
    data["name"] = "Bracket, new"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    entry = LogEntry.objects.get_for_object(material).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == supervisor
    assert entry.changes_dict["name"] == ["Bracket, old", "Bracket, new"]
    assert set(entry.changes_dict) == {"name"}


@pytest.mark.django_db
def test_creation_and_deletion_are_logged(supervisor):
    material = MaterialFactory()
    pk = material.pk
    material.delete()
    actions = set(
        LogEntry.objects.filter(object_pk=str(pk), content_type__model="material").values_list(
            "action", flat=True
        )
    )
    assert actions == {LogEntry.Action.CREATE, LogEntry.Action.DELETE}


@pytest.mark.django_db
def test_system_fields_of_a_node_are_not_logged():
    from integrations.models import Node

    node = Node.objects.create(name="erp-audit", kind="erp", transport="rest")
    node.refresh_from_db()
    created = LogEntry.objects.get_for_object(node).count()
    node.last_error_code = "INT-001"
    node.inbound_token_hash = "0" * 64
    node.save()
    assert LogEntry.objects.get_for_object(node).count() == created, [
        e.changes for e in LogEntry.objects.get_for_object(node)
    ]


@pytest.mark.django_db
def test_supervisors_may_read_the_log_in_the_admin(client, supervisor, user_with_role):
    assert supervisor.has_perm("auditlog.view_logentry")
    client.force_login(supervisor)
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 200
    leader = user_with_role("team_leader", is_staff=True)
    assert not leader.has_perm("auditlog.view_logentry")
    assert not Permission.objects.filter(
        group__name="supervisor", content_type__app_label="auditlog"
    ).exclude(codename="view_logentry")


def test_the_master_data_models_are_registered():
    from auditlog.registry import auditlog
    from django.apps import apps

    for label in AUDITED_MODELS:
        assert auditlog.contains(apps.get_model(label)), label
