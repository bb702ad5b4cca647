"""Putting the previous code back after a restore.

Images are tagged ``mes:<version>-<commit>`` (``MES_IMAGE_TAG`` in
docker-compose.yml); with ``mode="compose"`` the stack is started again on
the previous tag. With ``make run`` the code is a checkout: the step says
which commit to check out (a person restarts ``make run``). ``mode="none"``
leaves the code alone (the schema went back, the code did not change).
"""

from __future__ import annotations

import os
import subprocess

from django.conf import settings


def image_tag(version: str) -> str:
    return f"mes:{version}"


def previous_code(version: str, *, mode: str) -> str:
    """Do (or say) what brings ``version``'s code back; a sentence for the log."""
    if not version:
        return "no previous version recorded: keep the running code"
    if mode == "compose":
        command = getattr(settings, "RELEASES_COMPOSE_COMMAND", ["docker", "compose"])
        env = {**os.environ, "MES_IMAGE_TAG": version}
        subprocess.run([*command, "up", "-d", "--no-build"], check=True, env=env, timeout=600)
        return f"compose stack started on image {image_tag(version)}"
    if mode == "none":
        return f"code left as it is (previous version {version})"
    commit = version.rsplit("-", 1)[-1]
    return (
        f"now start the previous code: git checkout {commit} && make run "
        f"(compose: MES_IMAGE_TAG={version} docker compose up -d)"
    )
