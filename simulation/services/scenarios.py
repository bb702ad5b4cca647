"""Create a scenario (checked, recorded, queued) and run it (progress, results)."""

from __future__ import annotations

import logging
from datetime import date, time

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mes.delivery import registered_task
from mes.errors import ApplicationError
from mes.permissions import authorize
from simulation.engine import DispatchRule
from simulation.errors import (
    PERIOD_INVALID,
    RUN_FAILED,
    SCENARIO_INVALID,
    UNKNOWN_SCENARIO,
    UNKNOWN_WORK_CENTER,
)
from simulation.experiment import run_experiment, step_count
from simulation.models import OrderSource, Scenario, ScenarioEvent, ScenarioState
from workorders.models import WorkCenter

logger = logging.getLogger("simulation")
RUN_TASK = "simulation.run_scenario"
RUN_PERMISSION = "simulation.run_scenario"
MIN_DAYS, MAX_DAYS = 7, 366
MAX_REPLICATIONS = 100
MAX_PLAN_DAYS = 28


def _invalid(field: str, error=SCENARIO_INVALID) -> ApplicationError:
    return ApplicationError(error, fields={field: [str(error.message)]})


def _check_period(learn_start: date, learn_end: date) -> None:
    days = (learn_end - learn_start).days + 1
    if not MIN_DAYS <= days <= MAX_DAYS or learn_end >= timezone.localdate():
        raise _invalid("learn_start", PERIOD_INVALID)


def _check_what_ifs(fields: dict) -> None:
    known = set(WorkCenter.objects.values_list("code", flat=True))
    for name in ("shift_work_center", "station_work_center"):
        if fields.get(name) and fields[name] not in known:
            raise _invalid(name, UNKNOWN_WORK_CENTER)
    shift = [fields.get("shift_starts"), fields.get("shift_ends")]
    if fields.get("shift_work_center") and (None in shift or shift[0] == shift[1]):
        raise _invalid("shift_starts")
    if fields.get("station_work_center") and not 1 <= fields.get("extra_stations", 0) <= 10:
        raise _invalid("extra_stations")
    if not 10 <= fields.get("response_percent", 100) <= 500:
        raise _invalid("response_percent")
    for name in ("dispatch", "what_if_dispatch"):
        if fields.get(name) and fields[name] not in DispatchRule.ALL:
            raise _invalid(name)


@transaction.atomic
def scenario_create(
    *,
    actor,
    name: str,
    learn_start: date,
    learn_end: date,
    source: str = OrderSource.HISTORY,
    plan_days: int = 7,
    dispatch: str = DispatchRule.FIFO,
    replications: int = 10,
    seed: int = 1,
    shift_work_center: str = "",
    shift_starts: time | None = None,
    shift_ends: time | None = None,
    station_work_center: str = "",
    extra_stations: int = 0,
    what_if_dispatch: str = "",
    response_percent: int = 100,
) -> Scenario:
    """Check the scenario, save it with a ``created`` event, and queue its run after commit.

    Nothing is saved when a check fails (``SIM-001`` to ``SIM-003``, ``API-003``).
    """
    authorize(actor, RUN_PERMISSION)
    fields = {k: v for k, v in locals().items() if k not in ("actor",)}
    if not name.strip():
        raise _invalid("name")
    _check_period(learn_start, learn_end)
    if source not in OrderSource.values or not 1 <= plan_days <= MAX_PLAN_DAYS:
        raise _invalid("source")
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise _invalid("replications")
    _check_what_ifs(fields)
    scenario = Scenario(**fields, created_by=actor)
    scenario.total_steps = step_count(scenario)
    scenario.save()
    ScenarioEvent.objects.create(scenario=scenario, kind=ScenarioEvent.Kind.CREATED, actor=actor)
    transaction.on_commit(lambda: _enqueue(scenario.pk))
    return scenario


def _enqueue(scenario_id: int) -> None:
    try:
        registered_task(RUN_TASK).apply_async(args=[scenario_id])
    except Exception:
        # Nothing would ever run it: say so rather than show it waiting for ever.
        logger.warning("could not enqueue simulation scenario %s", scenario_id, exc_info=True)
        _fail(scenario_id, "SYS-003")


def _fail(scenario_id: int, reason: str) -> None:
    Scenario.objects.filter(pk=scenario_id).update(
        state=ScenarioState.FAILED, error=reason[:300], finished_at=timezone.now()
    )
    ScenarioEvent.objects.create(
        scenario_id=scenario_id, kind=ScenarioEvent.Kind.FAILED, reason=reason[:300]
    )


def _claim(scenario_id: int) -> Scenario | None:
    """Mark the scenario running; ``None`` when it is already done (a repeated delivery)."""
    with transaction.atomic():
        scenario = Scenario.objects.select_for_update().filter(pk=scenario_id).first()
        if scenario is None:
            raise ApplicationError(UNKNOWN_SCENARIO)
        if scenario.state == ScenarioState.DONE:
            return None
        scenario.state = ScenarioState.RUNNING
        scenario.started_at = timezone.now()
        scenario.done_steps = 0
        scenario.total_steps = step_count(scenario)
        scenario.error = ""
        scenario.save(update_fields=["state", "started_at", "done_steps", "total_steps", "error"])
        ScenarioEvent.objects.create(scenario=scenario, kind=ScenarioEvent.Kind.STARTED)
    return scenario


def scenario_run(*, scenario_id: int) -> Scenario:
    """Run the scenario and store its results; safe to run again (a done one is left).

    Progress is written after each replication (outside any long transaction),
    so the page's bar moves while it runs. A failure is recorded (``failed``
    with the reason, an event) instead of leaving the scenario running.
    """
    scenario = _claim(scenario_id)
    if scenario is None:
        return Scenario.objects.get(pk=scenario_id)

    def progress() -> None:
        Scenario.objects.filter(pk=scenario_id).update(done_steps=F("done_steps") + 1)

    try:
        results = run_experiment(scenario, progress)
    except ApplicationError as exc:
        _fail(scenario_id, exc.code)
        return Scenario.objects.get(pk=scenario_id)
    except Exception:
        logger.exception("simulation scenario %s failed", scenario_id)
        _fail(scenario_id, RUN_FAILED.code)
        return Scenario.objects.get(pk=scenario_id)
    with transaction.atomic():
        Scenario.objects.filter(pk=scenario_id).update(
            state=ScenarioState.DONE,
            results=results,
            done_steps=F("total_steps"),
            finished_at=timezone.now(),
        )
        ScenarioEvent.objects.create(scenario_id=scenario_id, kind=ScenarioEvent.Kind.FINISHED)
    return Scenario.objects.get(pk=scenario_id)
