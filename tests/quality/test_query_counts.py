"""Quality pages read the same number of queries with N records as with 5N
(tests/query_counts.py): the step templates and the check records."""

import pytest
from django.urls import reverse

from tests.quality.conftest import record_bad_then_good
from tests.query_counts import assert_constant_queries


@pytest.mark.django_db
def test_records_and_templates_read_a_constant_number_of_queries(
    client, published, running, worker, director
):
    _template, attachment = published()

    def records(orders):
        for _ in range(orders):
            record_bad_then_good(worker, running(), attachment)

    records(1)
    client.force_login(director)
    urls = [
        reverse("quality:records"),
        reverse("quality:records") + f"?template={attachment.template_id}",
        reverse("quality:list"),
    ]
    assert_constant_queries(client, urls, lambda: records(4))
