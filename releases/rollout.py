"""Who is in a percentage rollout: a hash of the flag's name and the user's id.

Pure functions, no database: the same user gets the same answer on every
device, in every process and in Celery tasks. A user's bucket never changes,
so raising 10 % to 50 % keeps the first 10 % in.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

BUCKETS = 10_000  # 0.01 % steps


def bucket(flag_name: str, user_id: int) -> int:
    digest = hashlib.sha256(f"{flag_name}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_rollout(flag_name: str, user_id: int, percent: Decimal | float | None) -> bool:
    if not percent or percent <= 0:
        return False
    return bucket(flag_name, user_id) < Decimal(str(percent)) * BUCKETS / 100


def user_team_codes(user) -> set[str]:
    """Codes of the user's teams (``Team.members``' reverse relation, by name:
    releases sits below work orders and imports none of it)."""
    teams = getattr(user, "teams", None)
    if teams is None:
        return set()
    return set(teams.values_list("code", flat=True))
