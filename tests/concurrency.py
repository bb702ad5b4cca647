"""Run the same call in two threads released at once (PostgreSQL tests of races)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_at_once(call: Callable[[], list], threads: int = 2) -> list[list]:
    """Each thread's answer to ``call()``; fails on a crash or a hang (a deadlock)."""
    barrier = threading.Barrier(threads)
    answered: list[list] = [[] for _ in range(threads)]
    crashes: list[str] = []

    def run(slot: int) -> None:
        try:
            barrier.wait(timeout=30)
            answered[slot] = call()
        except Exception as error:  # reported below
            crashes.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "hung (deadlock?)"
    assert crashes == []
    return answered
