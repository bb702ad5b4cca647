"""The import page in a real browser: the upload is saved and shown waiting, and the
file's page follows the import by itself (htmx polling) until the worker is done."""

import re

import pytest
from playwright.sync_api import expect

from integrations.models import InboundFile, Node
from integrations.services import inbound_file_process
from integrations.tasks import import_file
from inventory.models import StockMovement
from tests.factories import LocationFactory, MaterialFactory

PASSWORD = "import-check-42"


@pytest.fixture
def importer(transactional_db, user_with_role):
    user = user_with_role("supervisor", username="importer", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    MaterialFactory(code="100234", is_batch_tracked=True, decimal_places=2)
    LocationFactory(code="FG-A-01")
    return Node.objects.create(name="erp", kind="erp", transport="file_drop")


def test_the_file_page_follows_the_import_until_it_is_done(
    browser, live_server, importer, monkeypatch, tmp_path
):
    queued = []
    monkeypatch.setattr(import_file, "apply_async", lambda args: queued.append(args[0]))
    upload = tmp_path / "receipts.csv"
    upload.write_text("material,lot,location,qty\n100234,L1,FG-A-01,12\n")
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "importer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/integrations/import/")
    page.select_option("#id_node", label="erp")
    page.select_option("#id_kind", value="purchase_receipts")
    page.set_input_files("#id_file", str(upload))
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/integrations/import/\d+/$"))
    status = page.locator("#file-status")
    expect(status).to_contain_text("Waiting to be imported")
    assert len(queued) == 1 and StockMovement.objects.count() == 0

    inbound_file_process(file_id=queued[0])  # what the worker does
    expect(status).to_contain_text("Imported", timeout=5_000)  # no reload
    expect(status).not_to_have_attribute("hx-trigger", "every 1s")
    url = page.url
    page.wait_for_timeout(1_500)
    assert page.url == url  # polling stopped and swapped in place
    assert InboundFile.objects.get().state == "imported"
    assert StockMovement.objects.get().quantity == 12
    context.close()
