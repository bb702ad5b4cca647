"""Drills: the load drill, the fault drill, the fake ERP and WMS, and their processes.

The top layer: it may import every other app. Nothing imports it but its
management commands (``drill``, ``fault_drill``, ``export_drill_dataset``),
``make run`` (the fakes) and the tests.
"""
