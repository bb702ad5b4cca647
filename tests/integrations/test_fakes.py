"""The fake ERP/WMS servers behave as the delivery and pull tests rely on."""

import subprocess
import sys
import time
import urllib.error
import uuid

import pytest

from drills.fakes.process import running_fake
from drills.paths import ROOT

RECEIPTS = [
    {"external_id": f"PO-1/{line}", "material": "0200117", "quantity": str(line)}
    for line in range(1, 6)
]


@pytest.fixture(scope="module")
def shared_erp():
    with running_fake("erp", seed={"purchase_receipts": RECEIPTS}) as fake:
        yield fake


@pytest.fixture
def erp(shared_erp):
    shared_erp.reset()
    yield shared_erp
    shared_erp.reset()


def stock_move(material="0200117", location="RM-A-01", quantity="5", batch=None):
    return {"material": material, "location": location, "batch": batch, "quantity": quantity}


def is_timeout(error: OSError) -> bool:
    return isinstance(error, TimeoutError) or isinstance(
        getattr(error, "reason", None), TimeoutError
    )


# --- Messages -------------------------------------------------------------------------


def test_a_message_id_is_applied_once_and_a_replay_is_a_duplicate(erp):
    message_id = str(uuid.uuid4())

    first = erp.send_message("stock.receipt", stock_move(), message_id=message_id)
    again = erp.send_message("stock.receipt", stock_move(), message_id=message_id)

    assert first == (200, {"status": "accepted"})
    assert again == (200, {"status": "duplicate"})
    assert erp.stock() == [
        {"material": "0200117", "batch": None, "location": "RM-A-01", "quantity": "5"}
    ]
    received = erp.received()
    assert received["duplicates"] == 1
    [message] = received["messages"]
    assert message["message_id"] == message_id
    assert message["payload"] == stock_move()
    assert message["times_received"] == 2


def test_stock_events_add_signed_quantities_per_material_batch_location(erp):
    erp.send_message("stock.receipt", stock_move(quantity="10", batch="S-88"))
    erp.send_message("stock.issue", stock_move(quantity="-3.5", batch="S-88"))
    erp.send_message("stock.transfer", stock_move(location="RM-A-02", quantity="2"))
    erp.send_message("work_order.started", {"work_order": "WO-1"})

    stock = {(item["batch"], item["location"]): item["quantity"] for item in erp.stock()}
    assert stock == {("S-88", "RM-A-01"): "6.5", (None, "RM-A-02"): "2"}
    received = erp.received()["messages"]
    assert [message["event_type"] for message in received] == [
        "stock.receipt",
        "stock.issue",
        "stock.transfer",
        "work_order.started",
    ]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"message_id": "m-1", "event_type": "x", "aggregate_key": "a", "payload": {}}, {}),
        (
            {"message_id": "m-1", "event_type": "x", "aggregate_key": "a", "payload": {}},
            {"X-Message-Id": "m-2"},
        ),
        ({"event_type": "x", "aggregate_key": "a", "payload": {}}, {"X-Message-Id": "m-1"}),
        (
            {"message_id": "m-1", "event_type": "stock.receipt", "aggregate_key": "a",
             "payload": {"material": "A", "location": "L", "quantity": "many"}},
            {"X-Message-Id": "m-1"},
        ),
    ],
)  # fmt: skip
def test_malformed_messages_are_rejected_and_not_recorded(erp, body, headers):
    status, answer = erp.request("POST", "/mes/messages", body, headers)

    assert status == 400
    assert answer["status"] == "rejected"
    received = erp.received()
    assert received["messages"] == [] and received["rejected"] == 1
    assert erp.stock() == []


def test_a_token_is_required_when_the_fake_has_one():
    with running_fake("wms", token="s3cret") as wms:
        assert wms.send_message(payload=stock_move())[0] == 401
        assert wms.send_message(payload=stock_move(), token="wrong")[0] == 401
        assert wms.request("GET", "/mes/export/materials")[0] == 401
        assert wms.send_message(payload=stock_move(), token="s3cret")[0] == 200
        assert wms.export("materials")["records"] == []
        assert len(wms.received()["messages"]) == 1


# --- Control modes ----------------------------------------------------------------------


def test_error500_answers_500_and_applies_nothing(erp):
    erp.control("error500")

    status, answer = erp.send_message(payload=stock_move())

    assert status == 500 and answer["status"] == "error"
    assert erp.received()["messages"] == []
    assert erp.stock() == []
    assert erp.request("GET", "/_health")[0] == 200  # control endpoints are never affected


def test_slow_answers_after_the_delay(erp):
    erp.control("slow", delay=0.3)

    started = time.monotonic()
    status, _answer = erp.send_message(payload=stock_move())

    assert status == 200
    assert time.monotonic() - started >= 0.3


def test_slow_beyond_the_client_timeout_still_applies_the_message(erp):
    """The lost answer: a retry of the same message must then be a duplicate."""
    erp.control("slow", delay=0.8)
    message_id = str(uuid.uuid4())

    with pytest.raises(OSError) as raised:
        erp.send_message(payload=stock_move(), message_id=message_id, timeout=0.3)
    assert is_timeout(raised.value)
    time.sleep(0.8)
    erp.control("ok")

    assert erp.send_message(payload=stock_move(), message_id=message_id)[1] == {
        "status": "duplicate"
    }
    assert erp.stock()[0]["quantity"] == "5"


def test_timeout_holds_the_request_and_applies_nothing(erp):
    erp.control("timeout")

    started = time.monotonic()
    with pytest.raises(OSError) as raised:
        erp.send_message(payload=stock_move(), timeout=1)
    assert is_timeout(raised.value)
    assert time.monotonic() - started < 5
    assert erp.request("GET", "/_health", timeout=1)[0] == 200
    erp.control("ok")  # releases the held request without applying it

    assert erp.send_message(payload=stock_move())[1] == {"status": "accepted"}
    assert len(erp.received()["messages"]) == 1
    assert erp.stock()[0]["quantity"] == "5"


def test_flaky_fails_exactly_the_given_share_in_a_fixed_pattern(erp):
    def pattern(count):
        return [erp.send_message(payload=stock_move())[0] for _ in range(count)]

    erp.control("flaky", flaky_percent=50)
    assert pattern(6) == [200, 500, 200, 500, 200, 500]

    erp.control("flaky", flaky_percent=30)
    first = pattern(10)
    erp.control("flaky", flaky_percent=30)  # setting the mode again restarts the count
    assert pattern(10) == first
    assert first.count(500) == 3

    erp.control("flaky", flaky_percent=100)
    assert set(pattern(3)) == {500}
    accepted = 3 + 2 * first.count(200)
    assert len(erp.received()["messages"]) == accepted
    assert erp.stock()[0]["quantity"] == str(5 * accepted)


def test_an_unknown_mode_is_refused(erp):
    assert erp.request("POST", "/_control", {"mode": "sometimes"})[0] == 400
    assert erp.request("GET", "/_control")[1]["mode"] == "ok"


# --- Down and up again ------------------------------------------------------------------


def test_restart_on_the_same_port_keeps_data_and_deduplication():
    with running_fake("erp") as erp:
        message_id = str(uuid.uuid4())
        erp.send_message(payload=stock_move(), message_id=message_id)
        url = erp.base_url

        erp.stop()
        with pytest.raises(urllib.error.URLError) as raised:
            erp.send_message(payload=stock_move(), timeout=1)
        assert isinstance(raised.value.reason, ConnectionRefusedError)

        erp.start()
        assert erp.base_url == url
        assert erp.send_message(payload=stock_move(), message_id=message_id)[1] == {
            "status": "duplicate"
        }
        assert erp.send_message(payload=stock_move())[1] == {"status": "accepted"}
        assert erp.stock()[0]["quantity"] == "10"
        assert len(erp.received()["messages"]) == 2


def test_the_process_is_killed_on_exit_even_after_an_error():
    with pytest.raises(RuntimeError), running_fake("wms") as wms:
        process = wms.process
        raise RuntimeError("a failing test")
    assert process.poll() is not None


# --- Exports ----------------------------------------------------------------------------


def test_export_pages_with_a_cursor_and_resumes_after_new_records(erp):
    first = erp.export("purchase_receipts", limit=2)
    second = erp.export("purchase_receipts", cursor=first["next_cursor"], limit=2)
    third = erp.export("purchase_receipts", cursor=second["next_cursor"], limit=2)
    caught_up = erp.export("purchase_receipts", cursor=third["next_cursor"], limit=2)

    pages = [first, second, third]
    assert [[r["external_id"] for r in page["records"]] for page in pages] == [
        ["PO-1/1", "PO-1/2"],
        ["PO-1/3", "PO-1/4"],
        ["PO-1/5"],
    ]
    assert [page["has_more"] for page in pages] == [True, True, False]
    assert caught_up["records"] == [] and caught_up["next_cursor"] == third["next_cursor"]

    erp.seed({"purchase_receipts": [{"material": "100234", "quantity": "1"}]})
    later = erp.export("purchase_receipts", cursor=third["next_cursor"])
    assert [record["external_id"] for record in later["records"]] == ["purchase_receipts-6"]


def test_stock_snapshot_export_is_the_fakes_current_stock(erp):
    erp.seed({"stock_snapshot": [stock_move(quantity="100", batch="S-88") | {"unit": "个"}]})
    erp.send_message("stock.issue", stock_move(quantity="-40", batch="S-88"))

    [record] = erp.export("stock_snapshot")["records"]

    assert record == {
        "external_id": "0200117|S-88|RM-A-01",
        "material": "0200117",
        "batch": "S-88",
        "location": "RM-A-01",
        "quantity": "60",
        "unit": "个",
    }


def test_bad_export_requests_are_refused(erp):
    assert erp.request("GET", "/mes/export/gossip")[0] == 404
    assert erp.request("GET", "/mes/export/materials?cursor=nonsense")[0] == 400
    other_kind = erp.export("materials")["next_cursor"]
    assert erp.request("GET", f"/mes/export/purchase_receipts?cursor={other_kind}")[0] == 400
    assert erp.request("GET", "/mes/export/materials?limit=0")[0] == 400


def test_reset_restores_the_seed_and_forgets_messages(erp):
    erp.send_message(payload=stock_move())
    erp.seed({"materials": [{"code": "X"}]})
    erp.control("error500")

    erp.reset()

    assert erp.received() == {"messages": [], "duplicates": 0, "rejected": 0}
    assert erp.stock() == []
    assert erp.export("materials")["records"] == []
    assert len(erp.export("purchase_receipts", limit=10)["records"]) == 5
    assert erp.request("GET", "/_control")[1]["mode"] == "ok"


# --- Standalone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "seed"),
    [("drills.fakes.erp", "demo_erp.json"), ("drills.fakes.wms", "demo_wms.json")],
)
def test_standalone_entry_points_start_a_server_with_the_demo_seed(module, seed):
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--seed", f"drills/fakes/{seed}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith(f"fake {module.rsplit('.', 1)[1]} listening on http://127.0.0.1:")
    finally:
        process.kill()
        process.wait(timeout=5)
