"""The fault drill: under a light load, stop and restart each part of the stack in turn.

``python manage.py fault_drill`` (``make fault-drill``) runs it, or
``python -m drills.fault``. One run:

1. starts a stack of its own on free ports of 127.0.0.1, so nothing it stops
   is shared (``stack.py``): a PostgreSQL cluster (initdb into a temporary
   folder), a Redis server, the fake ERP and WMS, gunicorn, a Celery worker and
   Celery beat; migrates, loads the demo data and what the load drill's
   traffic needs (``drills/load/seed.py``: floor workers with tokens,
   dispatched work orders per scanner, stock);
2. runs a few Locust users of ``drills/load/locustfile.py`` (scanners that keep
   unanswered actions and send them again with the same key, a planner, the
   ERP pushing receipts) and polls ``/readyz`` every second, as compose does
   (``traffic.py``, ``probes.py``);
3. one at a time (``faults.py``): stops PostgreSQL (sampling the API, a page
   and ``/readyz`` meanwhile: each must answer 503 with ``SYS-002``) and starts
   it again; stops Redis and starts it; SIGKILLs the worker and starts a new
   one; stops beat and starts it (the heartbeat task must run again); stops the
   fake ERP and starts it (the outbox retries deliver);
4. stops making new actions, lets every device's queue drain and the outbox
   empty, stops the load and checks (``checks.py``, ``verdict.py``): each key
   sent applied exactly once, the ledger equals the balances, each outbox
   message received once by its system and in order per aggregate, no
   work-order transition doubled, the expected incidents raised during each
   fault and resolved after it;
5. prints what it checked with the counts and PASS/FAIL, writes
   ``benchmarks-out/fault-drill-<time>.json`` and exits 1 on a failure.

Processes come from ``drills/processes.py``; the data, the integrity check and
the locustfile from the load drill (``drills/load/``).
"""
