import pytest

from monitoring.outage_store import OutageStore
from monitoring.services.notifications import NOTIFICATIONS
from tests.monitoring.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def receiver():
    """An HTTP endpoint on 127.0.0.1 that records requests; set ``.answers`` to script it."""
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server():
    server = SmtpReceiver()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_task_publishing(monkeypatch):
    """Tasks that services enqueue are recorded, not published (tests call the services)."""
    enqueued: list[tuple[int, float]] = []
    monkeypatch.setattr(
        NOTIFICATIONS,
        "enqueue",
        lambda notification_id, countdown=0: enqueued.append((notification_id, countdown)),
    )
    return enqueued


@pytest.fixture
def enqueued(_no_task_publishing):
    return _no_task_publishing


@pytest.fixture(autouse=True)
def _outage_store_of_its_own(settings, tmp_path):
    """Each test starts without a remembered outage (file store under its own folder;
    Redis keys removed before and after)."""
    settings.MES_OUTAGE_DIR = str(tmp_path / "outage")
    store = OutageStore()
    store.take("database")
    yield
    store.take("database")
