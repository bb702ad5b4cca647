"""Fake ERP and WMS servers for ``make run``, the drills and the tests (see ``server.py``)."""
