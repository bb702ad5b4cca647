"""The board page writes its long tables and its JSON in Python (planning/pages.py):
the same rows the template loops wrote, escaped the same way, and the same board."""

import json
import re
from datetime import date
from unittest import mock

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from planning import pages
from planning.board import board_state
from planning.models import OperationPlan
from tests.planning.conftest import at

# The loops of templates/planning/_conflicts.html and board.html before they moved
# to planning/pages.py: what the rows must still be.
CONFLICT_LOOP = """{% for c in conflicts %}
    <tr data-kind="{{ c.kind }}"><td>{{ c.label }}</td><td>{% if c.order %}<a href="{% url 'workorders:detail' c.order %}">{{ c.order_number|default:c.order }}</a>{% endif %}</td>
      <td>{{ c.work_center_code }}</td>
      <td class="code">{% if c.percent %}{{ c.start|slice:":16" }} · {{ c.percent }}%{% else %}{{ c.detail }}{% endif %}</td></tr>
  {% endfor %}"""  # noqa: E501
SHORTAGE_LOOP = """{% load i18n %}{% for row in short_orders %}{% for s in row.shortages %}
      <tr><td>{% if forloop.first %}<a href="{% url 'workorders:detail' row.order_id %}">{{ row.order }}</a>{% endif %}</td>
        <td class="code">{{ s.material }}</td><td class="code">{{ s.needed }}</td><td class="code shortage">{{ s.available }}</td>
        <td>{% if forloop.first %}<a href="{% url 'planning:traveler' row.order_id %}">{% translate "Traveler" %}</a>{% endif %}</td></tr>
    {% endfor %}{% endfor %}"""  # noqa: E501
NOW = at(0, 6)


def _plan(operation, center, start, end):
    OperationPlan.objects.create(
        operation=operation, work_center=center, planned_start=start, planned_end=end
    )


@pytest.fixture
def troubled(shop, order):
    """Conflicts of every kind that has a detail: overloads (a percent and a start),
    shortages (two orders short of steel), lateness; codes and names that need escaping."""
    c = shop["centers"]
    c["D"].code = "D<&>\"'"
    c["D"].save()
    shop["component"].code = "ST<EEL>&"
    shop["component"].save()
    orders = [order(product="P2", quantity=4), order(product="P2", quantity=3)]
    orders += [order(due=date(2026, 1, 5)), order(due=date(2026, 1, 5))]
    for wo, start in zip(orders[2:], (at(5, 8), at(5, 12)), strict=True):
        first, second = wo.operations.order_by("sequence")
        _plan(first, c["D"], start, at(5, 16))
        _plan(second, c["B"], at(6, 9), at(6, 10))
    return orders


def _rendered(template: str, context: dict) -> str:
    return Template(template).render(Context(context))


def _squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


def test_the_rows_are_those_the_template_loops_wrote(troubled, planner):
    request = RequestFactory().get("/planning/")
    request.user = planner
    context = pages.board_context(request, board_state(now=NOW))
    kinds = {c["kind"] for c in context["conflicts"]}
    assert {"overload", "materials_short", "due_date_missed", "overlap"} <= kinds
    assert len(context["short_orders"]) == 2
    assert "D&lt;&amp;&gt;&quot;&#x27;" in context["conflict_rows"]
    assert "ST&lt;EEL&gt;&amp;" in context["short_rows"]
    assert context["conflict_rows"] == _rendered(CONFLICT_LOOP, context)
    assert context["short_rows"] == _rendered(SHORTAGE_LOOP, context)


def test_the_page_holds_the_board_as_json_escaped_for_a_script(troubled, planner, client):
    product = troubled[0].product
    product.name = "</script><script>alert(1)</script> & co"
    product.save()
    client.force_login(planner)
    fixed = mock.patch("planning.views.board_state", lambda: board_state(now=NOW))
    with fixed:
        page = client.get("/planning/").content.decode()
        data = client.get("/planning/board.json")
    assert "</script><script>alert(1)" not in page
    start = page.index('<script id="board-data" type="application/json">')
    blob = page[page.index(">", start) + 1 : page.index("</script>", start)]
    assert "\\u003C/script\\u003E" in blob and "\\u0026 co" in blob
    expected = board_state(now=NOW).as_dict()
    assert json.loads(blob) == expected
    assert data["Content-Type"] == "application/json"
    assert data.json() == expected
    assert _squeezed(page).count('<tr data-kind="') == len(expected["conflicts"])


def test_the_page_shows_the_tables(troubled, planner, client):
    client.force_login(planner)
    with mock.patch("planning.views.board_state", lambda: board_state(now=NOW)):
        page = _squeezed(client.get("/planning/").content.decode())
    assert 'id="plan-conflict-table"' in page
    assert page.count('<td class="code shortage">') == 2
    assert f'<a href="/planning/orders/{troubled[0].pk}/traveler/">Traveler</a>' in page
