import socket

import pytest

from integrations.models import Node
from mes.celery import app as celery_app


@pytest.fixture
def closed_port():
    """A local port where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A local port that accepts connections and never answers: requests time out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def erp_node(db, closed_port):
    return Node.objects.create(
        name="erp",
        kind="erp",
        transport="http_json",
        base_url=f"http://127.0.0.1:{closed_port}",
        subscriptions=["work_order.", "operation.", "stock."],
        timeout_seconds=1,
    )


@pytest.fixture
def eager_celery():
    """Tasks run in the calling thread (for tests of what enqueues them)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
