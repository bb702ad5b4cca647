"""After a drill: nothing lost, nothing doubled (Django must be set up).

The locustfile logs every attempt as ``key<TAB>kind<TAB>outcome``; each key
acknowledged (``applied``, ``replayed``) must be stored exactly once, each
refused one (``error``) never, and the ledger must equal the balances.
"""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from inventory.models import StockMovement
from inventory.selectors import ledger_drift_list
from workorders.models import WorkOrderEvent

KEY_CHUNK = 1000  # keys per IN (...) query


def read_keys(path: Path) -> dict[str, tuple[str, set[str]]]:
    """key -> (kind, outcomes seen)."""
    keys: dict[str, tuple[str, set[str]]] = {}
    if not path.exists():
        return keys
    for line in path.read_text(encoding="utf-8").splitlines():
        key, kind, outcome = line.split("\t")
        keys.setdefault(key, (kind, set()))[1].add(outcome)
    return keys


def integrity_check(keys_log: Path) -> dict:
    """Ledger and balances agree; each scan applied once, each refused one never."""
    connection.close()
    keys = read_keys(keys_log)
    counts, by_kind, problems = _judge_keys(keys, _stored_counts(list(keys)))
    drift = ledger_drift_list()
    return {
        **counts,
        "by_kind": by_kind,
        "ledger_drift": len(drift),
        "ledger_drift_samples": [str(d) for d in drift[:5]],
        "problems": len(problems),
        "problem_samples": problems[:10],
        "ok": not problems and not drift,
    }


def _stored_counts(names: list[str]) -> dict[str, int]:
    """How many movements and work-order events each idempotency key stored."""
    stored: dict[str, int] = {}
    for start in range(0, len(names), KEY_CHUNK):
        chunk = names[start : start + KEY_CHUNK]
        for model in (StockMovement, WorkOrderEvent):
            for key in model.objects.filter(idempotency_key__in=chunk).values_list(
                "idempotency_key", flat=True
            ):
                stored[key] = stored.get(key, 0) + 1
    return stored


def _judge_keys(keys: dict, stored: dict[str, int]) -> tuple[dict, dict[str, int], list[str]]:
    counts = {"sent": len(keys), "applied_once": 0, "refused_not_applied": 0, "no_answer": 0}
    by_kind: dict[str, int] = {}
    problems: list[str] = []
    for key, (kind, outcomes) in keys.items():
        by_kind[kind] = by_kind.get(kind, 0) + 1
        found = stored.get(key, 0)
        if outcomes & {"applied", "replayed"}:
            if found == 1:
                counts["applied_once"] += 1
            else:
                problems.append(f"{kind} {key}: acknowledged, stored {found} times")
        elif "error" in outcomes:
            if found == 0:
                counts["refused_not_applied"] += 1
            else:
                problems.append(f"{kind} {key}: refused, stored {found} times")
        else:
            counts["no_answer"] += 1
            if found > 1:
                problems.append(f"{kind} {key}: no answer, stored {found} times")
    return counts, by_kind, problems
