"""Gunicorn hooks (``--config python:monitoring.gunicorn_hooks``): each worker starts
its watchdog thread once it has loaded the application (``monitoring.watchdog``)
and freezes what start-up allocated (``gc.freeze``).

Gunicorn reads this module in its master before Django is set up, so the
watchdog is looked up by name only when a worker is ready.
"""

from __future__ import annotations

import gc
import importlib


def post_worker_init(worker) -> None:
    importlib.import_module("monitoring.watchdog").watchdog_start("web")
    # What start-up loaded lives as long as the worker: out of the cyclic collector's
    # sight, so its full collections no longer walk it in the middle of a request.
    gc.collect()
    gc.freeze()
