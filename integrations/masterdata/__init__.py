"""Master data from Excel: materials, locations, batches, work centers, routings, components.

``sheets`` (the templates' columns, Chinese and English headers), ``reader``
(a file into typed rows and cell errors), ``writers`` (one per kind, through
the services), ``apply`` (preview, upload, apply once per content),
``export`` (templates and the stored data in the same layout), ``views``.
"""
