"""The running release's version: package version plus git commit.

Incidents, logs and metrics carry it, so failures can be counted per release.
The commit comes from MES_COMMIT (set by the image build) or, in a checkout,
from git; it is read once per process.
"""

import functools
import os
import subprocess
from importlib import metadata
from pathlib import Path

_REPO_DIR = Path(__file__).resolve().parent.parent


def package_version() -> str:
    try:
        return metadata.version("mes")
    except metadata.PackageNotFoundError:
        return "0"


def git_commit() -> str:
    commit = os.environ.get("MES_COMMIT", "").strip()
    if commit:
        return commit[:12]
    try:
        result = subprocess.run(
            ["git", "-C", str(_REPO_DIR), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


@functools.cache
def current_version() -> str:
    """`<package version>-<commit>`, e.g. `0.2.0-1a2b3c4d5e6f`."""
    return f"{package_version()}-{git_commit()}"
