"""Thin Celery wrappers; each calls one service and is safe to run again."""

from __future__ import annotations

from celery import shared_task

from releases.services.flags import flag_ramps_apply
from releases.services.halt import flag_halts_check


@shared_task(name="releases.flag_ramps", ignore_result=True)
def flag_ramps() -> dict:
    """Every minute: halt a ramp whose users fail too often, then apply the due steps."""
    halted = flag_halts_check()
    return {"halted": halted, "applied": flag_ramps_apply()}
