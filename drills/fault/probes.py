"""What the fault drill asks the web app itself: readiness every second, and samples."""

from __future__ import annotations

import contextlib
import threading
import time

import requests


class ReadinessPoller:
    """GET /readyz every second, as the compose healthcheck does; keeps every answer."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            answer = {"t": time.time(), "status": 0, "failing": []}
            try:
                response = requests.get(self.base_url + "/readyz", timeout=5)
                answer["status"] = response.status_code
                body = response.json()
                answer["failing"] = [
                    f"{name}:{body['checks'][name].get('code')}" for name in body["failing"]
                ]
            except (requests.RequestException, ValueError, KeyError):
                pass
            self.answers.append(answer)


def error_code(response: requests.Response) -> str:
    with contextlib.suppress(ValueError):
        body = response.json()
        if "code" in body:
            return body["code"]
        checks = body.get("checks", {})
        failing = body.get("failing", [])
        return ",".join(str(checks[name].get("code")) for name in failing)
    marker = response.text.find("SYS-")
    return response.text[marker : marker + 7] if marker >= 0 else ""


class Prober:
    """Requests the drill makes itself: the API as a scanner, a page as a planner."""

    def __init__(self, base_url: str, fixture: dict) -> None:
        self.base_url = base_url
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Token {fixture['workers'][0]['token']}"
        self.browser = requests.Session()
        planner = fixture["planner"]
        self.browser.get(base_url + "/accounts/login/", timeout=10)
        self.browser.post(
            base_url + "/accounts/login/",
            data={
                "username": planner["username"],
                "password": planner["password"],
                "csrfmiddlewaretoken": self.browser.cookies.get("csrftoken", ""),
            },
            headers={"Referer": base_url + "/accounts/login/"},
            timeout=10,
        )

    def sample(self) -> dict[str, tuple[int, str]]:
        answers = {}
        for name, session, path in (
            ("api", self.api, "/api/v1/me/"),
            ("page", self.browser, "/work-orders/"),
            ("readyz", requests, "/readyz"),
        ):
            try:
                response = session.get(self.base_url + path, timeout=10, allow_redirects=False)
                answers[name] = (response.status_code, error_code(response))
            except requests.RequestException as exc:
                answers[name] = (0, type(exc).__name__)
        return answers

    def ready(self) -> bool:
        answers = self.sample()
        return all(status == 200 for status, _code in answers.values())
