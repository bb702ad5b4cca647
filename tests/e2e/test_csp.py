"""The Content Security Policy in a real browser: the main pages, the admin and
the API docs load without a single violation."""

import pytest

PAGES = [
    "/",
    "/work-orders/",
    "/inventory/",
    "/monitoring/",
    "/admin/",
    "/admin/inventory/material/add/",
    "/account/api-tokens/",
    "/api/docs/",
    "/floor/",
]


@pytest.fixture
def supervisor_password(transactional_db, user_with_role):
    user = user_with_role("supervisor", username="csp-supervisor", is_staff=True)
    user.set_password("csp-check-42")
    user.save()
    return "csp-check-42"


def test_pages_load_without_policy_violations(browser, live_server, supervisor_password):
    context = browser.new_context()
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "csp-supervisor")
    page.fill("#id_password", supervisor_password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    for path in PAGES:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if path == "/api/docs/":
            # Swagger UI ran its init script (a file) and rendered the schema.
            page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    context.close()
    assert not violations, "\n".join(violations)
