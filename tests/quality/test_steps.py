"""Versioning, publishing, the director's scope, triggers and the finish gate (services)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mes.errors import ApplicationError
from monitoring.models import Incident
from quality.models import StepRecord, StepTemplateVersion, Trigger
from quality.selectors import checks_for_operations
from quality.services import (
    step_attach,
    step_record_submit,
    step_template_create,
    step_template_draft_save,
    step_template_publish,
)
from tests.quality.conftest import BAD, FIRST_ARTICLE, GOOD, PIN, finish, give_pin
from workorders.models import RoutingOperation
from workorders.services import operation_transition

pytestmark = pytest.mark.django_db


def answer(actor, operation, attachment, answers, **kwargs):
    return step_record_submit(
        actor=actor,
        operation_id=operation.pk,
        attachment_id=attachment.pk,
        answers=answers,
        **kwargs,
    )


def test_an_edit_makes_version_2_and_version_1_records_keep_version_1(
    published, running, worker, director
):
    template, attachment = published()
    operation = running()
    first = answer(worker, operation, attachment, GOOD).record
    assert first.version.version == 1
    v2_fields = [*FIRST_ARTICLE, {"key": "note", "type": "text", "label": "备注"}]
    draft = step_template_draft_save(actor=director, template_id=template.pk, fields=v2_fields)
    assert draft.version == 2 and draft.state == "draft"
    v1 = StepTemplateVersion.objects.get(template=template, version=1)
    assert v1.state == "published" and v1.fields == FIRST_ARTICLE  # the draft changes nothing
    step_template_publish(actor=director, template_id=template.pk)
    v1.refresh_from_db()
    assert v1.state == "retired" and v1.fields == FIRST_ARTICLE
    first.refresh_from_db()
    assert first.version == v1 and first.answers == GOOD
    later = answer(worker, running(), attachment, {**GOOD, "note": "ok"}).record
    assert later.version.version == 2


def test_a_malformed_spec_is_refused_at_publish_and_nothing_changes(director, turning):
    template = step_template_create(
        actor=director, code="BAD", name="坏", team_id=turning.work_center.teams.first().pk
    )
    StepTemplateVersion.objects.filter(template=template).update(
        fields=[{"key": "a", "type": "number", "label": "x", "min": 9, "max": 1}]
    )
    with pytest.raises(ApplicationError) as refused:
        step_template_publish(actor=director, template_id=template.pk)
    assert refused.value.code == "QLT-002"
    assert template.versions.get().state == "draft"
    with pytest.raises(ApplicationError) as refused:  # an empty check cannot be published
        StepTemplateVersion.objects.filter(template=template).update(fields=[])
        step_template_publish(actor=director, template_id=template.pk)
    assert refused.value.code == "QLT-002"


def test_the_director_edits_only_his_teams_checks_and_routings(
    published, director, other_director, plant
):
    template, _attachment = published()
    with pytest.raises(ApplicationError) as refused:
        step_template_draft_save(actor=other_director, template_id=template.pk, fields=[])
    assert refused.value.code == "QLT-004"
    grinding = RoutingOperation.objects.get(routing=plant["routing"], sequence=30)
    assert not grinding.work_center.teams.exists()  # nobody's: not the director's team
    with pytest.raises(ApplicationError) as refused:
        step_attach(
            actor=director,
            template_id=template.pk,
            routing_operation_id=grinding.pk,
            trigger=Trigger.FIRST_PIECE,
        )
    assert refused.value.code == "QLT-004"
    with pytest.raises(ApplicationError) as refused:  # a check for another team
        step_template_create(
            actor=director,
            code="X",
            name="x",
            team_id=other_director.teams.get().pk,
        )
    assert refused.value.code == "QLT-004"


def test_a_worker_may_not_build_checks(worker, turning):
    with pytest.raises(ApplicationError) as refused:
        step_template_create(actor=worker, code="W", name="w", team_id=None)
    assert refused.value.code == "API-003"


def test_finishing_with_a_blocking_check_due_is_refused_with_a_hint(published, running, worker):
    _template, attachment = published()
    operation = running()
    with pytest.raises(ApplicationError) as refused:
        finish(worker, operation)
    assert refused.value.code == "QLT-001"
    assert refused.value.extra["hint"]
    assert refused.value.extra["checks"][0]["attachment"] == attachment.pk
    operation.refresh_from_db()
    assert operation.state == "running" and operation.good_quantity == 0  # nothing changed
    assert answer(worker, operation, attachment, BAD).record.result == "failed"
    with pytest.raises(ApplicationError):
        finish(worker, operation)  # a failed answer does not open the gate
    assert answer(worker, operation, attachment, GOOD).record.result == "passed"
    finish(worker, operation)
    operation.refresh_from_db()
    assert operation.state == "done"


def test_a_check_that_does_not_block_lets_the_operation_finish(published, running, worker):
    published(blocking=False)
    operation = running()
    finish(worker, operation)


def test_a_failed_check_opens_an_incident_for_the_team_leader_and_qc(
    published, running, worker, plant
):
    plant["team"].leader = worker
    plant["team"].save()
    _template, attachment = published()
    operation = running()
    record = answer(worker, operation, attachment, BAD).record
    incident = Incident.objects.get(code="QLT-006")
    assert incident.category == "quality"
    assert incident.detail["step_record"] == record.pk
    assert incident.detail["failed_fields"] == ["diameter"]
    assert incident.detail["notify"]["team_leader"] == worker.username
    # The operation may be paused for quality meanwhile.
    operation_transition(
        actor=worker, operation_id=operation.pk, transition="pause", reason="等待质检"
    )


def test_first_piece_is_due_once_per_order(published, running, worker):
    _template, attachment = published(Trigger.FIRST_PIECE)
    operation = running()
    assert checks_for_operations([operation])[operation.pk][0].due
    answer(worker, operation, attachment, GOOD)
    assert not checks_for_operations([operation])[operation.pk][0].due
    assert checks_for_operations([running()])  # the next order asks again
    other = running()
    assert checks_for_operations([other])[other.pk][0].due


def test_after_a_setup_change_the_check_is_due_again(published, running, worker):
    _template, attachment = published(Trigger.SETUP_CHANGE)
    operation = running()
    answer(worker, operation, attachment, GOOD)
    assert not checks_for_operations([operation])[operation.pk][0].due
    operation_transition(actor=worker, operation_id=operation.pk, transition="pause", reason="换刀")
    operation_transition(actor=worker, operation_id=operation.pk, transition="resume")
    assert checks_for_operations([operation])[operation.pk][0].due


def test_every_n_pieces_needs_one_pass_per_n_at_finish(published, running, worker):
    _template, attachment = published(Trigger.EVERY_N, every_n=4)
    operation = running(quantity=10)
    answer(worker, operation, attachment, GOOD, idempotency_key="n-1")
    with pytest.raises(ApplicationError) as refused:
        finish(worker, operation, good=10)  # 10 pieces: 3 passes
    assert refused.value.extra["checks"][0]["needed"] == 3
    answer(worker, operation, attachment, GOOD, idempotency_key="n-2")
    answer(worker, operation, attachment, GOOD, idempotency_key="n-3")
    finish(worker, operation, good=10)


def test_each_shift_needs_a_pass_in_the_current_shift(published, running, worker):
    _template, attachment = published(Trigger.EACH_SHIFT)
    operation = running()
    yesterday = timezone.now() - timedelta(days=1, hours=1)
    answer(worker, operation, attachment, GOOD, occurred_at=yesterday)
    assert checks_for_operations([operation])[operation.pk][0].due
    answer(worker, operation, attachment, GOOD)
    assert not checks_for_operations([operation])[operation.pk][0].due


def test_released_orders_take_up_a_new_attachment_only_where_not_started(
    published, running, dispatched, first_operation
):
    started = running()
    not_started = first_operation(dispatched())  # ready, not started yet
    published()
    checks = checks_for_operations([started, not_started])
    assert checks[started.pk] == []
    assert len(checks[not_started.pk]) == 1


def test_a_signature_is_checked_against_the_signers_pin_and_not_stored(
    director, turning, running, worker
):
    fields = [{"key": "sign", "type": "signature", "label": "签字", "required": True}]
    template = step_template_create(
        actor=director, code="SIG", name="签字", team_id=turning.work_center.teams.first().pk,
        fields=fields,
    )  # fmt: skip
    step_template_publish(actor=director, template_id=template.pk)
    attachment = step_attach(
        actor=director, template_id=template.pk, routing_operation_id=turning.pk,
        trigger=Trigger.FIRST_PIECE,
    )  # fmt: skip
    operation = running()
    give_pin(worker)
    with pytest.raises(ApplicationError) as refused:
        answer(worker, operation, attachment, {"sign": "0000"})
    assert refused.value.code == "QLT-010"
    assert not StepRecord.objects.exists()
    record = answer(worker, operation, attachment, {"sign": PIN}).record
    assert record.answers == {"sign": "signed"} and record.result == "passed"


def test_an_answer_replayed_with_its_key_is_recorded_once(published, running, worker):
    _template, attachment = published()
    operation = running()
    first = answer(worker, operation, attachment, BAD, idempotency_key="phone-1")
    again = answer(worker, operation, attachment, BAD, idempotency_key="phone-1")
    assert not first.replayed and again.replayed
    assert again.record.pk == first.record.pk
    assert StepRecord.objects.count() == 1
    assert Incident.objects.get(code="QLT-006").occurrences == 1


def test_invalid_answers_change_nothing(published, running, worker):
    _template, attachment = published()
    operation = running()
    with pytest.raises(ApplicationError) as refused:
        answer(worker, operation, attachment, {"diameter": "x"})
    assert refused.value.code == "QLT-005"
    assert not StepRecord.objects.exists()
