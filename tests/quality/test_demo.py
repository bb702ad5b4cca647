from io import StringIO

import pytest

from inventory import demo as inventory_demo
from mes import demo as users_demo
from quality import demo
from quality.models import StepAttachment, StepTemplate
from workorders import demo as workorders_demo


@pytest.mark.django_db
def test_the_demo_has_a_published_first_article_check_on_the_turning_and_loads_twice():
    out = StringIO()
    users_demo.load(out)
    inventory_demo.load(out)
    workorders_demo.load(out)
    demo.load(out)
    demo.load(out)  # idempotent
    template = StepTemplate.objects.get(code=demo.FIRST_ARTICLE)
    published = template.versions.get(state="published")
    assert len(published.fields) == 5 and template.versions.count() == 1
    attachment = StepAttachment.objects.get(template=template, is_active=True)
    assert (attachment.routing_operation.routing.code, attachment.routing_operation.sequence) == (
        demo.ATTACH_TO
    )
    assert template.team.members.filter(username="director").exists()
