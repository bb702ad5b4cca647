from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_diagram_is_the_one_the_tables_draw():
    out = StringIO()
    call_command("workorder_diagram", stdout=out)
    page = (ROOT / "docs/workorders.md").read_text()
    documented = page.split("<!-- diagram:start -->")[1].split("<!-- diagram:end -->")[0]
    assert documented.strip() == out.getvalue().strip()
