"""The API's page numbers, as strict as the schema's ``page`` (an integer).

DRF reads a blank ``?page=`` as the first page; here it is 404 ``API-004``
like any other page that is not there (``?page=abc``, ``?page=99999``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


class PageNumbers(PageNumberPagination):
    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number is not None and not number.strip():
            raise NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)
