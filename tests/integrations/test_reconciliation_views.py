"""The reconciliation pages: history and trend, starting a run, one run, decisions, exports."""

import csv
import io
import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from integrations import reconciliation
from integrations.models import Discrepancy, Node, ReconciliationRun, RepairPolicy
from integrations.reconciliation import SnapshotRow, reconciliation_execute, submissions
from integrations.tasks import run_reconciliation
from inventory.models import StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move
from monitoring.models import Incident
from tests.factories import LocationFactory, MaterialFactory

HISTORY_URL = reverse("integrations:reconciliation")
START_URL = reverse("integrations:reconciliation_start")
HTMX = {"HTTP_HX_REQUEST": "true"}
_keys = itertools.count()


def run_url(run, **query):
    url = reverse("integrations:reconciliation_run", args=[run.pk])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def status_url(run):
    return reverse("integrations:reconciliation_run_status", args=[run.pk])


def decide_url(run):
    return reverse("integrations:reconciliation_decide", args=[run.pk])


def receive(material, location, quantity, batch=None, when=None):
    stock_move(
        actor=None,
        idempotency_key=f"views-{next(_keys)}",
        request=MovementRequest(
            "receipt", material, location, Decimal(quantity), batch=batch, occurred_at=when
        ),
    )


def row(material, location, quantity, batch=""):
    return SnapshotRow(material, batch, location, Decimal(quantity))


@pytest.fixture(autouse=True)
def _private_var_dir(settings, tmp_path):
    """Uploaded snapshot files go to a folder of this test."""
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def plant(db):
    """Bearings in two bins and gear shafts in batch L1, all received before the cut-off."""
    MaterialFactory(code="100234", name="Gear shaft", is_batch_tracked=True, category="FG")
    MaterialFactory(code="0200117", name="Bearing 6204", category="RM")
    for code in ("FG-A-01", "RM-A-01", "RM-A-02", "WH1-A-01"):
        LocationFactory(code=code)
    cutoff = timezone.now() - timedelta(hours=1)
    before = cutoff - timedelta(hours=2)
    receive("100234", "FG-A-01", 100, batch="L1", when=before)
    receive("0200117", "RM-A-01", 50, when=before)
    receive("0200117", "RM-A-02", 7, when=before)
    return cutoff


def finished_run(cutoff, snapshots, *, trigger="manual", run_date=None, dry_run=False):
    run, _fresh = reconciliation.reconciliation_run_start(
        trigger=trigger, cutoff_at=cutoff, run_date=run_date, dry_run=dry_run
    )
    return reconciliation_execute(run, snapshots)


@pytest.fixture
def pending_run(plant):
    """RM-A-01 off by 2 (repaired at once), RM-A-02 off by 6 (beyond the limit: pending)."""
    RepairPolicy.objects.create(
        category="RM", source_of_truth="erp", auto_limit_quantity=5, auto_limit_percent=10
    )
    return finished_run(
        plant,
        {
            "erp": [
                row("0200117", "RM-A-01", 48),
                row("0200117", "RM-A-02", 1),
                row("100234", "FG-A-01", 100, "L1"),
                row("999999", "WH1-A-01", 4),
            ]
        },
    )


@pytest.fixture
def planner(client, user_with_role):
    client.force_login(user_with_role("planner"))
    return client


@pytest.fixture
def supervisor(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    return client


def table_rows(html):
    return re.findall(r'<tr id="discrepancy-(\d+)"', html)


# --- Access --------------------------------------------------------------------------
@pytest.mark.django_db
def test_pages_need_a_signed_in_user(client, pending_run):
    for url in (HISTORY_URL, run_url(pending_run), status_url(pending_run)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_pages_need_the_view_permission(client, user_factory, pending_run):
    client.force_login(user_factory())
    for url in (
        HISTORY_URL,
        run_url(pending_run),
        run_url(pending_run, format="csv"),
        status_url(pending_run),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert "API-003" in response.content.decode()


@pytest.mark.django_db
def test_starting_needs_the_add_permission(client, user_with_role, plant):
    client.force_login(user_with_role("team_leader"))
    page = client.get(HISTORY_URL).content.decode()
    assert 'id="start-run"' not in page  # they see the history, not the form
    response = client.post(START_URL, {"pull_from_nodes": "on"})
    assert response.status_code == 403
    assert not ReconciliationRun.objects.exists()


@pytest.mark.django_db
def test_deciding_needs_the_change_permission(planner, pending_run):
    pending = pending_run.discrepancies.get(repair="pending")
    page = planner.get(run_url(pending_run)).content.decode()
    assert 'name="ids"' not in page and 'value="approve"' not in page
    response = planner.post(decide_url(pending_run), {"ids": [pending.pk], "decision": "approve"})
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.repair == "pending"
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 7


@pytest.mark.django_db
def test_an_unknown_run_is_404(planner, db):
    assert planner.get(reverse("integrations:reconciliation_run", args=[999])).status_code == 404


# --- History and trend ---------------------------------------------------------------
@pytest.mark.django_db
def test_history_lists_runs_newest_first_and_draws_the_trend(planner, plant, settings):
    settings.RECONCILIATION_INCIDENT_THRESHOLD = 2
    today = timezone.localdate()
    nights = [today - timedelta(days=days) for days in (3, 2, 0)]
    gears = row("100234", "FG-A-01", 100, "L1")
    snapshots = [
        [row("0200117", "RM-A-01", 50), row("0200117", "RM-A-02", 7), gears],  # all match
        [row("0200117", "RM-A-01", 49), gears],  # 2 differences (RM-A-02 is missing)
        [row("0200117", "RM-A-01", 49), row("999999", "RM-A-01", 1), gears],  # 3
    ]
    runs = [
        finished_run(plant, {"erp": snapshot}, trigger="schedule", run_date=night)
        for night, snapshot in zip(nights, snapshots, strict=True)
    ]
    failed, _ = reconciliation.reconciliation_run_start(
        trigger="schedule", run_date=today - timedelta(days=1), cutoff_at=plant
    )
    ReconciliationRun.objects.filter(pk=failed.pk).update(state="failed", error="boom")

    page = planner.get(HISTORY_URL).content.decode()

    links = re.findall(r'href="/integrations/reconciliation/(\d+)/"', page)
    assert links[: len(runs) + 1] == [
        str(run.pk) for run in (failed, *reversed(runs))
    ]  # newest first
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in chart and "<script" not in page.split("</head>")[1]
    assert chart.count('class="trend-bar') == 3  # one bar per night with a finished run
    assert chart.count('class="trend-bar trend-over"') == 1  # 3 > the threshold of 2
    assert chart.count('class="trend-failed"') == 1
    assert chart.count('class="trend-none"') == 30 - 4
    assert f"{nights[1]:%Y-%m-%d}: 2 differences" in chart
    assert f"{nights[0]:%Y-%m-%d}: 0 differences" in chart
    assert 'class="trend-threshold"' in chart
    assert 'id="start-run"' in page and 'type="file"' in page


@pytest.mark.django_db
def test_history_pages_with_htmx(planner, plant):
    for _ in range(51):
        ReconciliationRun.objects.create(
            run_date=timezone.localdate(), trigger="command", cutoff_at=plant, state="succeeded"
        )
    first = planner.get(HISTORY_URL).content.decode()
    assert "51 runs" in first and 'rel="next"' in first
    second = planner.get(HISTORY_URL + "?page=2", **HTMX)
    body = second.content.decode()
    assert (
        "<html" not in body
        and len(re.findall(r'href="/integrations/reconciliation/\d+/"', body)) == 1
    )
    assert "HX-Request" in second["Vary"]


# --- Starting a run ------------------------------------------------------------------
ERP_FILE = "material,batch,warehouse,quantity\r\n0200117,,RM-A-01,48\r\n100234,L1,FG-A-01,100\r\n"
WMS_FILE = "sku\tlot\tlocation\ton_hand\n0200117\t\tRM-A-01\t50\n0200117\t\tRM-A-02\t7\n"


@pytest.mark.django_db
def test_starting_a_run_with_files_runs_it_in_the_background_and_shows_the_summary(
    planner, plant, eager_celery, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(
            START_URL,
            {
                "erp_file": SimpleUploadedFile("erp stock.csv", ERP_FILE.encode()),
                "wms_file": SimpleUploadedFile("wms.tsv", WMS_FILE.encode("utf-8-sig")),
                "cutoff_at": timezone.localtime(plant).strftime("%Y-%m-%dT%H:%M"),
            },
        )
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run_url(run)
    assert run.trigger == "manual" and run.started_by.groups.filter(name="planner").exists()
    assert run.state == "succeeded", run.error
    assert run.summary["loaded"] == {"erp": 2, "wms": 2}
    # ERP: 48 instead of 50, nothing at RM-A-02; WMS: no gear shafts.
    assert run.summary["discrepancies"] == 3
    assert not (settings.VAR_DIR / "reconciliation" / str(run.pk)).exists()  # files removed

    page = planner.get(run_url(run)).content.decode()
    assert f"Run {run.pk}" in page and "Succeeded" in page
    assert 'hx-trigger="every 1s"' not in page
    summary = page[page.index('id="run-status"') : page.index('id="discrepancy-filters"')]
    assert re.search(r"Quantity mismatch</a></dt><dd>1</dd>", summary)
    assert re.search(r"Missing in ERP</a></dt><dd>1</dd>", summary)
    assert re.search(r"Missing in WMS</a></dt><dd>1</dd>", summary)
    assert len(table_rows(page)) == 3


@pytest.mark.django_db
def test_a_started_run_waits_for_the_worker_and_its_files_are_saved_first(
    planner, plant, monkeypatch, django_capture_on_commit_callbacks, settings
):
    sent = []
    monkeypatch.setattr(
        run_reconciliation, "apply_async", lambda args, kwargs: sent.append((args, kwargs))
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(
            START_URL,
            {"erp_file": SimpleUploadedFile("erp.csv", ERP_FILE.encode()), "dry_run": "on"},
        )
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302
    assert run.state == "running" and run.dry_run
    assert sent == [([run.pk], {"files": {"erp": "erp-erp.csv"}, "nodes": {}})]
    saved = settings.VAR_DIR / "reconciliation" / str(run.pk) / "erp-erp.csv"
    assert saved.read_bytes() == ERP_FILE.encode()

    assert run_reconciliation(run.pk, files={"erp": "erp-erp.csv"}) == run.pk
    run.refresh_from_db()
    assert run.state == "succeeded" and not saved.exists()
    movements = StockMovement.objects.count()
    assert run_reconciliation(run.pk, files={"erp": "erp-erp.csv"}) is None  # delivered twice
    assert StockMovement.objects.count() == movements


@pytest.mark.django_db
def test_a_run_that_cannot_be_queued_is_marked_failed_not_left_running(
    planner, plant, monkeypatch, django_capture_on_commit_callbacks, settings
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(run_reconciliation, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        planner.post(START_URL, {"erp_file": SimpleUploadedFile("erp.csv", ERP_FILE.encode())})
    run = ReconciliationRun.objects.get()
    assert run.state == "failed" and run.error.startswith("SYS-003")
    assert not (settings.VAR_DIR / "reconciliation" / str(run.pk)).exists()
    page = planner.get(run_url(run)).content.decode()
    assert "SYS-003" in page and "The task queue does not answer." in page


@pytest.mark.django_db
def test_a_file_without_readable_rows_fails_the_run_with_an_incident(
    planner, plant, eager_celery, django_capture_on_commit_callbacks
):
    movements = StockMovement.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        planner.post(
            START_URL, {"erp_file": SimpleUploadedFile("erp.csv", b"nothing,here\r\n1,2\r\n")}
        )
    run = ReconciliationRun.objects.get()
    assert run.state == "failed" and run.error.startswith("REC-006")
    assert not run.discrepancies.exists()
    assert StockMovement.objects.count() == movements
    assert Incident.objects.get(code="REC-001").severity == "A"
    page = planner.get(run_url(run)).content.decode()
    assert "REC-006" in page and "A snapshot file holds no row" in page


@pytest.mark.django_db
def test_a_run_pulls_from_the_configured_nodes(planner, plant, monkeypatch, settings):
    node = Node.objects.create(
        name="wms-main", kind="wms", transport="http_json", pull_kinds=["stock_snapshot"]
    )
    sent = []
    monkeypatch.setattr(
        run_reconciliation, "apply_async", lambda args, kwargs: sent.append((args, kwargs))
    )
    page = planner.get(HISTORY_URL).content.decode()
    assert "wms-main" in page
    response = planner.post(START_URL, {"pull_from_nodes": "on"})
    assert response.status_code == 302
    run = ReconciliationRun.objects.get()
    monkeypatch.setattr(
        submissions,
        "snapshot_rows_from_node",
        lambda pulled: [row("0200117", "RM-A-01", 50)] if pulled == node else [],
    )
    reconciliation.reconciliation_run_from_sources(run_id=run.pk, nodes={"wms": node.pk})
    run.refresh_from_db()
    assert run.summary["loaded"] == {"wms": 1}
    assert run.summary["by_class"]["missing_in_wms"] == 2  # RM-A-02 and the gear shafts


@pytest.mark.django_db
def test_starting_without_a_source_shows_the_error_and_starts_nothing(planner, plant):
    response = planner.post(START_URL, {})
    assert response.status_code == 400
    page = response.content.decode()
    assert "API-001" in page and "Choose an ERP or WMS file" in page
    response = planner.post(START_URL, {"pull_from_nodes": "on"})  # no node offers snapshots
    assert response.status_code == 400 and "REC-005" in response.content.decode()
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = planner.post(
        START_URL,
        {"erp_file": SimpleUploadedFile("erp.csv", ERP_FILE.encode()), "cutoff_at": future},
    )
    assert response.status_code == 400
    assert "The cut-off cannot be in the future." in response.content.decode()
    assert not ReconciliationRun.objects.exists()


# --- Progress ------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_progress_partial_polls_while_running_and_stops_when_done(planner, plant):
    run, _ = reconciliation.reconciliation_run_start(trigger="manual", cutoff_at=plant)
    ReconciliationRun.objects.filter(pk=run.pk).update(progress=40)

    page = planner.get(run_url(run)).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'value="40"' in page
    running = planner.get(status_url(run) + "?polling=1", **HTMX)
    body = running.content.decode()
    assert body.lstrip().startswith('<section id="run-status"')
    assert 'hx-trigger="every 1s"' in body and "<progress" in body
    assert "HX-Trigger" not in running

    reconciliation_execute(run, {"erp": [row("0200117", "RM-A-01", 49)]})
    done = planner.get(status_url(run) + "?polling=1", **HTMX)
    body = done.content.decode()
    assert 'hx-trigger="every 1s"' not in body and "<progress" not in body
    assert "Succeeded" in body
    assert done["HX-Trigger"] == "reconciliation-run-finished"  # the table loads itself
    page = planner.get(run_url(run)).content.decode()
    assert 'hx-trigger="reconciliation-run-finished from:body"' in page


# --- The table -----------------------------------------------------------------------
@pytest.fixture
def many_differences(plant):
    """60 unknown materials in two warehouses with differences 1..60; bearings 5 short in
    RM-A-01 and missing in RM-A-02."""
    snapshot = [row(f"X{index:03d}", f"WH{index % 2 + 1}-B-01", index) for index in range(1, 61)]
    snapshot += [row("0200117", "RM-A-01", 45), row("100234", "FG-A-01", 100, "L1")]
    return finished_run(plant, {"erp": snapshot})


@pytest.mark.django_db
def test_filters_sort_and_pagination(planner, many_differences):
    run = many_differences
    ids = {d.pk: d for d in run.discrepancies.all()}

    first = planner.get(run_url(run), **HTMX).content.decode()
    shown = [ids[int(pk)] for pk in table_rows(first)]
    assert "<html" not in first and "62 differences" in first
    assert len(shown) == 50
    assert [abs(d.difference) for d in shown[:3]] == [60, 59, 58]  # largest first
    assert 'rel="next"' in first

    second = planner.get(run_url(run, page=2), **HTMX).content.decode()
    assert len(table_rows(second)) == 12

    smallest = planner.get(run_url(run, order="size_asc"), **HTMX).content.decode()
    assert [abs(ids[int(pk)].difference) for pk in table_rows(smallest)[:2]] == [1, 2]

    by_class = planner.get(run_url(run, kind="quantity_mismatch"), **HTMX).content.decode()
    assert [ids[int(pk)].location for pk in table_rows(by_class)] == ["RM-A-01"]

    by_material = planner.get(run_url(run, material="0200"), **HTMX).content.decode()
    assert {ids[int(pk)].material_code for pk in table_rows(by_material)} == {"0200117"}

    warehouse = planner.get(run_url(run, location="WH1", order="size_asc"), **HTMX)
    rows = [ids[int(pk)] for pk in table_rows(warehouse.content.decode())]
    assert len(rows) == 30 and all(d.location.startswith("WH1") for d in rows)
    assert 'rel="next"' not in warehouse.content.decode()  # 30 rows: one page
    filtered_page_link = planner.get(run_url(run, location="WH", order="size_asc")).content.decode()
    assert "?location=WH&amp;order=size_asc&amp;page=2" in filtered_page_link
    assert "?location=WH&amp;order=size_asc&amp;format=csv" in filtered_page_link
    # The XLSX first: a CSV opened by double-click loses what Excel reads as numbers.
    xlsx = filtered_page_link.index("format=xlsx")
    assert xlsx < filtered_page_link.index("format=csv")


@pytest.mark.django_db
def test_the_table_shows_names_units_and_signed_differences(planner, pending_run):
    page = planner.get(run_url(pending_run)).content.decode()
    assert "Bearing 6204" in page and 'href="/inventory/materials/0200117/"' in page
    assert "+4" in page  # unknown material 999999: 4 more in the ERP
    assert "-6 PCS" in page  # RM-A-02: the ERP has 1, we have 7


# --- Decisions -----------------------------------------------------------------------
@pytest.mark.django_db
def test_approving_from_the_page_repairs_the_stock(supervisor, pending_run):
    pending = pending_run.discrepancies.get(repair="pending")
    page = supervisor.get(run_url(pending_run)).content.decode()
    assert f'name="ids" value="{pending.pk}"' in page and 'value="approve"' in page

    response = supervisor.post(
        decide_url(pending_run),
        {"ids": [pending.pk], "decision": "approve", "repair": "pending"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == "reconciliation-run-changed"
    assert "1 difference approved and repaired." in body
    pending.refresh_from_db()
    assert pending.repair == "applied" and pending.decided_by is not None
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 1
    movement = StockMovement.objects.get(pk=pending.repair_movement_id)
    assert movement.reason == "exception-recovered data"
    assert "No difference matches these filters." in body  # the filter (pending) is kept

    again = supervisor.post(decide_url(pending_run), {"ids": [pending.pk], "decision": "reject"})
    assert again.status_code == 302  # nothing pending any more: skipped, not changed
    pending.refresh_from_db()
    assert pending.repair == "applied"
    followed = supervisor.get(again["Location"]).content.decode()
    assert "0 differences rejected." in followed and "no longer waiting" in followed


@pytest.mark.django_db
def test_rejecting_from_the_page_leaves_the_stock(supervisor, pending_run):
    pending = pending_run.discrepancies.get(repair="pending")
    movements = StockMovement.objects.count()
    response = supervisor.post(
        decide_url(pending_run), {"ids": [pending.pk], "decision": "reject", "kind": "x"}
    )
    assert response.status_code == 302 and response["Location"] == run_url(pending_run)
    pending.refresh_from_db()
    assert pending.repair == "rejected"
    assert StockMovement.objects.count() == movements
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 7
    status = supervisor.get(status_url(pending_run)).content.decode()
    assert re.search(r"Rejected</dt><dd>1</dd>", status)


@pytest.mark.django_db
def test_decision_errors_show_their_code_and_message(supervisor, pending_run, user_with_role):
    response = supervisor.post(decide_url(pending_run), {"decision": "approve"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx
    assert "API-001" in body and "Choose at least one difference waiting for approval." in body

    response = supervisor.post(decide_url(pending_run), {"decision": "approve"})
    assert response.status_code == 400 and "API-001" in response.content.decode()

    # A supervisor may decide, but the repair itself needs the right to adjust stock.
    clerk = user_with_role("team_leader")
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(Permission.objects.get(codename="change_discrepancy"))
    clerk.user_permissions.remove(*Permission.objects.filter(codename="adjust_stock"))
    clerk.groups.get().permissions.remove(*Permission.objects.filter(codename="adjust_stock"))
    supervisor.force_login(clerk)
    pending = pending_run.discrepancies.get(repair="pending")
    response = supervisor.post(
        decide_url(pending_run), {"ids": [pending.pk], "decision": "approve"}, **HTMX
    )
    body = response.content.decode()
    assert re.search(r'<strong class="code">[A-Z]+-\d+</strong>', body)
    pending.refresh_from_db()
    assert pending.repair == "pending"
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 7


# --- Exports -------------------------------------------------------------------------
@pytest.mark.django_db
def test_csv_export_of_the_filtered_table(planner, many_differences):
    response = planner.get(run_url(many_differences, format="csv", location="RM-A-01"))
    assert response["Content-Type"].startswith("text/csv")
    assert f"reconciliation-{many_differences.pk}-" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Compared with", "Class", "Material code"]
    assert rows[1:] == [
        [
            "ERP",
            "Quantity mismatch",
            '="0200117"',  # a code Excel keeps as text, leading zero and all
            "Bearing 6204",
            "",
            "RM-A-01",
            "50",
            "45",
            "-5",
            "PCS",
            "No repair (report only)",
            "",
            "",
        ]
    ]


@pytest.mark.django_db
def test_xlsx_export_keeps_every_filtered_row_and_codes_as_text(planner, many_differences):
    response = planner.get(run_url(many_differences, format="xlsx", order="size_asc"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert len(values) == 1 + 62  # every page, not only the first
    assert values[1][2] == "X001" and values[1][8] == 1
    codes = {line[2] for line in values[1:]}
    assert "0200117" in codes  # the leading zero kept


# --- Language and queries -------------------------------------------------------------
@pytest.mark.django_db
def test_the_pages_render_in_chinese(planner, pending_run):
    def chinese(text):
        with translation.override("zh-hans"):
            translated = translation.gettext(text)
        assert translated != text and re.search(r"[\u4e00-\u9fff]", translated), text
        return translated

    history = planner.get(HISTORY_URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in history
    for text in ("Reconciliation", "Differences per night", "Start a run now", "Runs"):
        assert chinese(text) in history
    assert "Differences per night" not in history
    page = planner.get(run_url(pending_run), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for text in (
        "Quantity mismatch",
        "Waiting for approval",
        "Differences by class",
        "Largest difference first",
    ):
        assert chinese(text) in page
    assert "Quantity mismatch" not in page and "Waiting for approval" not in page


@pytest.mark.django_db
def test_the_run_page_has_a_bounded_number_of_queries(
    supervisor, plant, django_assert_max_num_queries
):
    snapshot = [row(f"Y{index:03d}", "WH1-A-01", index) for index in range(1, 99)]
    snapshot += [row("0200117", "RM-A-01", 45), row("100234", "FG-A-01", 100, "L1")]
    run = finished_run(plant, {"erp": snapshot})  # 98 + RM-A-01 + RM-A-02
    assert run.discrepancies.count() == 100
    Discrepancy.objects.filter(run=run).update(repair="pending")
    with django_assert_max_num_queries(10):
        page = supervisor.get(run_url(run))
    assert page.status_code == 200 and len(table_rows(page.content.decode())) == 50
    with django_assert_max_num_queries(10):
        assert supervisor.get(run_url(run, page=2), **HTMX).status_code == 200
    with django_assert_max_num_queries(10):
        assert supervisor.get(HISTORY_URL).status_code == 200


# --- Admin ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_admin_approves_selected_differences_through_the_service(supervisor, pending_run):
    pending = pending_run.discrepancies.get(repair="pending")
    unknown = pending_run.discrepancies.get(kind="unknown_material")
    url = reverse("admin:integrations_discrepancy_changelist")
    listing = supervisor.get(url + "?repair__exact=pending")
    assert listing.status_code == 200 and "approve_selected" in listing.content.decode()
    response = supervisor.post(
        url,
        {"action": "approve_selected", "_selected_action": [pending.pk, unknown.pk]},
        follow=True,
    )
    assert "1 of 2 approved and repaired." in response.content.decode()
    pending.refresh_from_db()
    unknown.refresh_from_db()
    assert pending.repair == "applied" and unknown.repair == "none"
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 1


@pytest.mark.django_db
def test_the_admin_shows_runs_and_differences_read_only_and_edits_policies(supervisor, pending_run):
    run_page = supervisor.get(
        reverse("admin:integrations_reconciliationrun_change", args=[pending_run.pk])
    ).content.decode()
    assert f"?run__id__exact={pending_run.pk}" in run_page and 'name="_save"' not in run_page
    difference = pending_run.discrepancies.first()
    page = supervisor.get(
        reverse("admin:integrations_discrepancy_change", args=[difference.pk])
    ).content.decode()
    assert 'name="_save"' not in page
    policy = RepairPolicy.objects.get()
    response = supervisor.post(
        reverse("admin:integrations_repairpolicy_change", args=[policy.pk]),
        {
            "category": "RM",
            "location_type": "",
            "source_of_truth": "wms",
            "auto_limit_quantity": "10",
            "auto_limit_percent": "5",
            "priority": "3",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.source_of_truth == "wms" and policy.priority == 3
