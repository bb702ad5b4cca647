"""GET /api/v1/work-orders/ pages by cursor (newest first); ``?page=N`` still answers
with page numbers and a count for clients written before."""

import pytest

from mes.pagination import CursorOrPageNumbers


@pytest.fixture
def planner_api(api_client, user_with_role):
    api_client.force_authenticate(user_with_role("planner"))
    return api_client


def walk(client, url, *, between=None):
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        assert "count" not in body and set(body) == {"next", "previous", "results"}
        seen += [order["number"] for order in body["results"]]
        pages += 1
        if between:
            between()
        url = body["next"]
    return seen, pages


@pytest.mark.django_db
def test_every_order_once_newest_first_while_orders_are_created(
    planner_api, new_work_order, monkeypatch
):
    monkeypatch.setattr(CursorOrPageNumbers, "page_size", 3)
    orders = [new_work_order(priority=1 + n % 3) for n in range(10)]
    seen, pages = walk(planner_api, "/api/v1/work-orders/", between=lambda: new_work_order())
    assert seen == [order.number for order in reversed(orders)] and pages == 4


@pytest.mark.django_db
def test_the_filters_hold_across_cursor_pages(planner_api, new_work_order, monkeypatch):
    monkeypatch.setattr(CursorOrPageNumbers, "page_size", 2)
    urgent = [new_work_order(priority=1).number for _ in range(5)]
    new_work_order(priority=5)
    seen, _ = walk(planner_api, "/api/v1/work-orders/?search=WO-T&state=created")
    assert len(seen) == 6
    body = planner_api.get("/api/v1/work-orders/?state=created").json()
    assert "state=created" in body["next"] and "cursor=" in body["next"]
    assert set(urgent) <= set(seen)


@pytest.mark.django_db
def test_a_page_number_keeps_the_old_answer(planner_api, new_work_order, monkeypatch):
    monkeypatch.setattr("mes.pagination.PageNumbers.page_size", 2)
    late = new_work_order(priority=9)
    urgent = new_work_order(priority=1)
    new_work_order(priority=5)
    body = planner_api.get("/api/v1/work-orders/?page=1").json()
    assert body["count"] == 3 and "page=2" in body["next"]
    assert body["results"][0]["number"] == urgent.number  # by priority, as before
    assert planner_api.get("/api/v1/work-orders/?page=2").json()["results"][0]["number"] == (
        late.number
    )


@pytest.mark.django_db
def test_an_unreadable_cursor_is_404_with_its_code(planner_api):
    response = planner_api.get("/api/v1/work-orders/?cursor=nonsense")
    assert response.status_code == 404 and response.json()["code"] == "API-004"
