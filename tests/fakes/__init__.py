"""Fake ERP and WMS servers for tests and the demo (see ``server.py``)."""
