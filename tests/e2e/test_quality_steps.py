"""A director builds a five-item first-article check in the editor, publishes it and
attaches it to his team's turning; a worker on a 360 px phone meets it on the next order,
fails it once (an incident is raised), passes it and finishes. Chromium, zh-Hans."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from mes import demo
from monitoring.models import Incident
from quality.models import StepRecord, StepTemplate
from tests.e2e.conftest import eventually, sign_in
from workorders.services import work_order_transition

PASSWORD = demo.DEMO_PASSWORD


def tap(page, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_selector("body:not([data-busy])")


def add_field(page, kind: str, label: str, required: bool = True, **extra) -> None:
    form = page.locator("form.add-field")
    form.locator("select[name=type]").select_option(kind)
    form.locator("input[name=label]").fill(label)
    form.locator("input[name=required]").set_checked(required)
    for name, value in extra.items():
        if value is True:
            form.locator(f"input[name={name}]").check()
        else:
            form.locator(f"input[name={name}]").fill(value)
    count = page.locator("#field-list .field-item").count()
    form.locator("button[type=submit]").click()
    page.locator("#field-list .field-item").nth(count).wait_for()  # no eval: the CSP holds


@pytest.fixture
def director(transactional_db, plant):
    demo.load(None)  # the demo users: director, worker, ... (password mes-demo)
    user = get_user_model().objects.get(username="director")
    plant["team"].members.add(user)
    return user


def console_errors(page, errors: list[str]) -> None:
    page.on(
        "console",
        lambda message: (
            errors.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))


def test_director_builds_a_first_article_check_and_the_worker_meets_it(
    browser, floor_server, director, phone, worker, new_work_order, artifacts
):
    errors: list[str] = []
    # --- The director, on a desktop, in Chinese, with the CSP enforced ----------------------
    desk = browser.new_context(locale="zh-CN", base_url=floor_server.url)
    desk.set_default_timeout(10_000)
    page = desk.new_page()
    console_errors(page, errors)
    page.goto("/accounts/login/")
    page.fill("#id_username", "director")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{floor_server.url}/")
    page.click("nav a[href='/quality/']")
    page.fill("#id_code", "FAI-E2E")
    page.fill("#id_name", "首件检验打卡")
    page.click("form.entry-form button[type=submit]")
    page.wait_for_selector("#field-list")
    add_field(page, "number", "外径", min="24.98", max="25.02", unit="mm")
    add_field(page, "photo", "首件照片", required=False)
    add_field(page, "checkbox", "表面无划伤", must_be_checked=True)
    add_field(page, "checkbox", "倒角符合图纸", must_be_checked=True)
    add_field(page, "badge", "检验员工牌")
    assert page.locator(".phone-frame input, .phone-frame select").count() == 5
    page.screenshot(path=str(artifacts / "quality-editor.png"), full_page=True, caret="initial")
    page.click("#publish")
    page.wait_for_selector("#attach")
    page.select_option("#id_routing_operation", label=None, index=0)
    page.select_option("#id_trigger", "first_piece")
    page.click("#attach")
    page.wait_for_selector("text=R-100234")
    page.screenshot(path=str(artifacts / "quality-attached.png"), full_page=True, caret="initial")
    template = StepTemplate.objects.get(code="FAI-E2E")
    assert template.attachments.get(is_active=True).routing_operation.sequence == 10
    assert len(template.versions.get(state="published").fields) == 5

    # --- The next order; the worker on his phone ------------------------------------------
    work_order = new_work_order(quantity=5)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    operation = work_order.operations.get(sequence=10)
    console_errors(phone, errors)
    sign_in(phone)
    phone.click(f"#queue [data-operation='{operation.pk}']")
    phone.wait_for_selector("#view[data-view=operation]")
    tap(phone, "[data-action=accept]")
    tap(phone, "[data-action=start]")
    phone.wait_for_selector("form.check")
    phone.screenshot(path=str(artifacts / "quality-phone-check.png"), full_page=True)

    check = phone.locator("form.check")
    check.locator("input[data-type=number]").fill("25.10")  # out of the limits
    check.locator("input[data-type=checkbox]").nth(0).check()
    check.locator("input[data-type=checkbox]").nth(1).check()
    check.locator("input[data-type=badge]").fill("QC-01")
    tap(phone, "form.check [data-action=check]")
    assert eventually(lambda: StepRecord.objects.filter(result="failed").exists())
    assert eventually(lambda: Incident.objects.filter(code="QLT-006").exists())
    phone.wait_for_selector("form.check [data-last-failed=yes]")

    tap(phone, "[data-action=finish]")  # refused: the check has not passed
    phone.wait_for_selector("#feedback[data-kind=error]:not([hidden])")
    assert "QLT-001" in phone.inner_text("#feedback") or "检验" in phone.inner_text("#feedback")
    phone.screenshot(path=str(artifacts / "quality-phone-refused.png"), full_page=True)
    operation.refresh_from_db()
    assert operation.state == "running"

    check = phone.locator("form.check")
    check.locator("input[data-type=number]").fill("25.00")
    check.locator("input[data-type=checkbox]").nth(0).check()
    check.locator("input[data-type=checkbox]").nth(1).check()
    check.locator("input[data-type=badge]").fill("QC-01")
    tap(phone, "form.check [data-action=check]")
    assert eventually(lambda: StepRecord.objects.filter(result="passed").exists())
    phone.wait_for_selector("form.check", state="detached")
    phone.fill("form.finish input[name=good]", "5")
    tap(phone, "[data-action=finish]")
    phone.screenshot(path=str(artifacts / "quality-phone-finished.png"), full_page=True)

    def done():
        operation.refresh_from_db()
        return operation.state == "done"

    assert eventually(done)
    assert operation.good_quantity == Decimal(5)
    records = StepRecord.objects.filter(operation=operation).order_by("occurred_at")
    assert [r.result for r in records] == ["failed", "passed"]
    assert {r.version.version for r in records} == {1}

    # The records on the order page, in Chinese.
    page.goto(f"/work-orders/{work_order.pk}/")
    page.wait_for_selector("#check-records")
    assert "不合格" in page.inner_text("#check-records") or "失败" in page.inner_text(
        "#check-records"
    )
    page.screenshot(
        path=str(artifacts / "quality-order-records.png"), full_page=True, caret="initial"
    )
    desk.close()
    # The phone's rejected finish is an answer of the server, not a browser error.
    problems = [e for e in errors if "409" not in e and "Failed to load resource" not in e]
    assert problems == [], "\n".join(problems)
