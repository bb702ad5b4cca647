"""One delivery engine for rows that a Celery task sends one at a time: the
outbox (messages to ERP and WMS) and notifications (messages to people).

A row is written in the transaction of its cause and enqueued after commit.
A worker claims it before sending (``claimed_until``), so two workers never
send it at once. A failure schedules the next attempt after the policy's
delay (the first retry time, then doubling; jitter only ever adds, up to
10 %; capped below the broker's visibility timeout); after the last attempt
the row is dead and its owner raises the incident. When the target answers
again, its owner releases the rows waiting out a retry delay at once
(``retry_now``: a circuit that closes). The sweeper re-enqueues due rows whose
task was lost (broker down, worker killed), and a replay gives dead rows a new
round of attempts.

What is sent, to whom, and what a failure means stay with the owner
(``integrations.services.outbox``, ``monitoring.services.notifications``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.db import models, transaction
from django.db.models import Q

logger = logging.getLogger("mes.delivery")

# Countdowns stay well below the Redis visibility timeout (settings: 3600 s).
MAX_COUNTDOWN_SECONDS = 3000
SWEEP_BATCH = 500


def registered_task(name: str):
    """The Celery task called ``name``, for services to enqueue without importing
    their ``tasks`` module (which imports the services). Autodiscovery registers
    every app's tasks in this process on first use; eager mode is honoured."""
    app = current_app
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def retry_delay(first_retry_seconds: float, attempt: int) -> float:
    """Delay before retry ``attempt`` (1-based): the first retry time, then doubling.

    Jitter only ever adds (up to 10 %), so a retry is never earlier than the policy.
    """
    base = float(first_retry_seconds) * (2 ** (attempt - 1))
    return min(base + random.uniform(0, base * 0.1), MAX_COUNTDOWN_SECONDS)


@dataclass
class DeliveryQueue:
    """A table of rows delivered by the Celery task ``task_name``.

    The model has ``state``, ``attempts``, ``next_attempt_at``,
    ``claimed_until`` and ``last_error``. With ``claim_only_when_due`` a row is
    claimed only once its next attempt is due (an early task does nothing);
    without it, any pending unclaimed row is sent when its task arrives.
    """

    model: type[models.Model]
    label: str  # for the log: "outbox message", "notification"
    task_name: str
    pending: str
    delivered: str
    dead: str
    claim_only_when_due: bool = False

    # --- Enqueueing -------------------------------------------------------------------
    def enqueue(self, row_id: int, countdown: float = 0) -> None:
        """Send the delivery task; a broker that is down only delays delivery."""
        try:
            self._task().apply_async(args=[row_id], countdown=min(countdown, MAX_COUNTDOWN_SECONDS))
        except Exception:  # the sweeper finds the row again
            logger.warning(
                "could not enqueue %s %s; the sweeper will",
                self.label,
                row_id,
                exc_info=True,
            )

    def enqueue_after_commit(self, row_ids: Iterable[int], countdown: float = 0) -> None:
        for row_id in row_ids:
            transaction.on_commit(lambda pk=row_id: self.enqueue(pk, countdown))

    def _task(self):
        return registered_task(self.task_name)

    # --- One attempt --------------------------------------------------------------------
    def claim(self, row_id: int, *, now: datetime, hold_seconds: float) -> bool:
        """Take the row for one attempt, for ``hold_seconds``; False if it is not ours."""
        rows = self.model.objects.filter(pk=row_id, state=self.pending).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        )
        if self.claim_only_when_due:
            rows = rows.filter(next_attempt_at__lte=now)
        return bool(rows.update(claimed_until=now + timedelta(seconds=hold_seconds)))

    def release(self, row_id: int) -> None:
        """Give a claimed row back untried (it waits for something else)."""
        self.model.objects.filter(pk=row_id).update(claimed_until=None)

    def succeeded(self, row, *, now: datetime, **fields) -> None:
        self.model.objects.filter(pk=row.pk).update(
            state=self.delivered,
            attempts=row.attempts + 1,
            claimed_until=None,
            last_error="",
            **fields,
        )

    def failed(
        self,
        row,
        *,
        now: datetime,
        max_attempts: int,
        first_retry_seconds: float,
        error: str,
        **fields,
    ) -> float | None:
        """Record a failed attempt; the delay before the next one, or None when dead.

        The retry is enqueued after commit; a dead row stays for a replay.
        """
        attempts = row.attempts + 1
        dead = attempts >= max_attempts
        delay = None if dead else retry_delay(first_retry_seconds, attempts)
        self.model.objects.filter(pk=row.pk).update(
            attempts=attempts,
            state=self.dead if dead else self.pending,
            next_attempt_at=now if dead else now + timedelta(seconds=delay),
            claimed_until=None,
            last_error=error[:500],
            **fields,
        )
        if not dead:
            transaction.on_commit(lambda: self.enqueue(row.pk, countdown=delay))
        return delay

    def retry_now(self, rows: models.QuerySet, *, now: datetime, limit: int = SWEEP_BATCH) -> int:
        """Release the rows of ``rows`` that wait out a retry delay: due now, enqueued in
        order after commit; returns how many. What a queue does when its target answers
        again (a circuit that closes), so that a recovered target catches up at once
        rather than each row after its own delay. Rows a worker holds are left to it."""
        unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        waiting = list(
            rows.filter(unclaimed, state=self.pending, attempts__gt=0, next_attempt_at__gt=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if waiting:
            self.model.objects.filter(unclaimed, pk__in=waiting, state=self.pending).update(
                next_attempt_at=now
            )
            self.enqueue_after_commit(waiting)
        return len(waiting)

    # --- Lost tasks and replays -------------------------------------------------------------
    def sweep(
        self, *, now: datetime, grace_seconds: float, rows: models.QuerySet | None = None
    ) -> int:
        """Re-enqueue pending rows well past due whose task was lost; returns how many.

        ``rows`` narrows the search (the outbox: only the first undelivered message of
        each aggregate, the only one that can go). A swept row becomes due again only
        after another grace period, so a long queue is not flooded with its repeats.
        """
        rows = self.model.objects.all() if rows is None else rows
        unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        due = list(
            rows.filter(
                unclaimed,
                state=self.pending,
                next_attempt_at__lte=now - timedelta(seconds=grace_seconds),
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        self.model.objects.filter(pk__in=due, state=self.pending).update(next_attempt_at=now)
        for row_id in due:
            self.enqueue(row_id)
        return len(due)

    @transaction.atomic
    def replay(self, row_ids: Iterable[int], *, now: datetime) -> int:
        """Give dead rows a new round of attempts, sent after commit; returns how many."""
        replayable = list(
            self.model.objects.select_for_update()
            .filter(pk__in=list(row_ids), state=self.dead)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self.model.objects.filter(pk__in=replayable).update(
            state=self.pending, attempts=0, next_attempt_at=now, claimed_until=None
        )
        self.enqueue_after_commit(replayable)
        return len(replayable)
