"""Run a fake ERP/WMS as a subprocess for a test: ``with running_fake("erp") as erp: ...``.

The process is killed on exit whatever happens. ``stop()`` and ``start()``
take the system down and bring it back on the same port; its data (received
messages, stock, records) survives, as a real system's database would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drills.paths import ROOT

# The demo data of each fake (package data: shipped with the installed package).
DEMO_SEEDS = {
    kind: Path(__file__).resolve().parent / f"demo_{kind}.json" for kind in ("erp", "wms")
}
START_TIMEOUT = 10.0
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
# Never through a proxy, whatever the environment says: the fakes are local.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeProcess:
    def __init__(
        self,
        kind: str,
        workdir: Path,
        port: int | None = None,
        token: str | None = None,
        seed: dict[str, Any] | str | Path | None = None,
        persist: bool = True,
    ) -> None:
        self.kind = kind
        self.workdir = workdir
        self.port = port or 0
        self.token = token
        self.state_file = workdir / "state.json" if persist else None
        self.log_file = workdir / "fake.log"
        if isinstance(seed, dict):
            self.seed_file: Path | None = workdir / "seed.json"
            self.seed_file.write_text(json.dumps(seed), encoding="utf-8")
        else:
            self.seed_file = Path(seed) if seed else None
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the process ---------------------------------------------------------------

    def start(self) -> None:
        """Start (or restart) the fake, on the same port after the first start."""
        if self.running:
            return
        args = [sys.executable, "-m", "drills.fakes", "--kind", self.kind]
        args += ["--port", str(self.port)]
        if self.token:
            args += ["--token", self.token]
        if self.seed_file:
            args += ["--seed", str(self.seed_file)]
        if self.state_file:
            args += ["--state", str(self.state_file)]
        log = self.log_file.open("w")
        try:
            self.process = subprocess.Popen(
                args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        try:
            self.port = self._wait_for_port()
            self._wait_for_health()
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        """Take the fake down (SIGTERM, then SIGKILL); a request in flight gets no answer."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log_file.read_text(errors="replace"))
            if match:
                return int(match[1])
            if self.process is None or self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"fake {self.kind} did not start:\n{self.log_file.read_text()}")

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/_health", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"fake {self.kind} does not answer /_health")

    # --- HTTP ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> tuple[int, Any]:
        """(status, JSON body); raises OSError (a timeout, a refused connection) as urllib does."""
        data = json.dumps(body).encode() if body is not None else None
        if data is None and method == "POST":
            data = b""
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"null")
            except ValueError:
                return error.code, raw.decode(errors="replace")

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.request(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {status} {answer}")
        return answer

    def send_message(
        self,
        event_type: str = "stock.receipt",
        payload: dict[str, Any] | None = None,
        *,
        message_id: str | None = None,
        aggregate_key: str = "test",
        token: str | None = None,
        timeout: float = 5.0,
    ) -> tuple[int, Any]:
        """POST one message as the MES delivery does; returns (status, body)."""
        message_id = message_id or str(uuid.uuid4())
        body = {
            "message_id": message_id,
            "event_type": event_type,
            "aggregate_key": aggregate_key,
            "payload": payload or {},
            "created_at": "2024-01-05T08:00:00+08:00",
        }
        headers = {"X-Message-Id": message_id}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", "/mes/messages", body, headers, timeout=timeout)

    def export(self, kind: str, cursor: str | None = None, limit: int | None = None) -> Any:
        query = urllib.parse.urlencode(
            {key: value for key, value in (("cursor", cursor), ("limit", limit)) if value}
        )
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        status, answer = self.request("GET", f"/mes/export/{kind}?{query}", headers=headers)
        if status != 200:
            raise RuntimeError(f"export {kind}: HTTP {status} {answer}")
        return answer

    # --- control -------------------------------------------------------------------

    def control(
        self, mode: str, delay: float | None = None, flaky_percent: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": mode}
        if delay is not None:
            body["delay"] = delay
        if flaky_percent is not None:
            body["flaky_percent"] = flaky_percent
        return self._ok("POST", "/_control", body)

    def received(self) -> dict[str, Any]:
        """``{"messages": [...] in arrival order, "duplicates": n, "rejected": n}``."""
        return self._ok("GET", "/_received")

    def stock(self) -> list[dict[str, Any]]:
        return self._ok("GET", "/_stock")["stock"]

    def seed(self, records: dict[str, list[dict[str, Any]]]) -> None:
        self._ok("POST", "/_seed", records)

    def reset(self) -> None:
        self._ok("POST", "/_reset")


@contextmanager
def running_fake(
    kind: str,
    port: int | None = None,
    token: str | None = None,
    seed: dict[str, Any] | str | Path | None = None,
    persist: bool = True,
) -> Iterator[FakeProcess]:
    """A fake ERP or WMS on 127.0.0.1, killed on exit; ``port=None`` picks a free one."""
    with tempfile.TemporaryDirectory(prefix=f"fake-{kind}-") as workdir:
        fake = FakeProcess(kind, Path(workdir), port, token, seed, persist)
        try:
            fake.start()
            yield fake
        finally:
            fake.stop()
