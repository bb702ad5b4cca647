"""Pages read a constant number of queries: the same with N rows as with 5N.

``assert_constant_queries`` warms each page up (session, permission cache), counts
its queries, lets the test add rows, counts again and shows the extra SQL if the
count grew (an N+1: a missing select_related/prefetch_related/annotate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection
from django.test.utils import CaptureQueriesContext

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_queries(client, url: str, **extra) -> list[str]:
    client.get(url, **extra)  # warm: the session, the user's permissions, caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in queries.captured_queries]


def assert_constant_queries(
    client, urls: Iterable[str], grow: Callable[[], object], **extra
) -> dict[str, int]:
    """Count each page's queries, ``grow()`` the data (4N rows more), count again."""
    urls = list(urls)
    few = {url: page_queries(client, url, **extra) for url in urls}
    grow()
    many = {url: page_queries(client, url, **extra) for url in urls}
    grew = {
        url: (len(few[url]), len(many[url]), [sql for sql in many[url] if sql not in few[url]][:5])
        for url in urls
        if len(many[url]) != len(few[url])
    }
    assert not grew, grew
    return {url: len(queries) for url, queries in few.items()}
