"""Where the drills find the project and its tools."""

from __future__ import annotations

import sys
from pathlib import Path

# The project folder (manage.py, benchmarks-out/): the drills run manage.py from it.
ROOT = Path(__file__).resolve().parents[1]
# gunicorn, celery and locust are installed next to this Python.
BIN = Path(sys.executable).parent
