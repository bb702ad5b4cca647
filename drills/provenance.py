"""Which code a drill or benchmark measured, for its report."""

from __future__ import annotations

import subprocess

from drills.paths import ROOT


def _git(*command: str) -> str:
    done = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def code_version() -> dict:
    """The commit measured, and whether the work tree had changes on top of it."""
    changed = [line[3:] for line in _git("status", "--porcelain").splitlines()]
    commit = _git("rev-parse", "--short", "HEAD") or "unknown (not a git work tree)"
    return {"commit": commit, "changed_files": changed}
