"""The load drill: the whole stack on this machine under a realistic mix, with a verdict.

``python manage.py drill`` (``make drill``) runs it, or ``python -m drills.load``.
One run:

1. drops and recreates its own database (``mes_drill``), migrates it and loads
   the demo data, or with ``--dataset`` a plant's anonymised export (the traffic
   then drives its users, materials and work orders: ``dataset.py``), then adds
   what the traffic needs (``seed.py``): floor workers
   with API tokens, work orders dispatched so each scanner owns its own
   operations, stock to issue, move and put away, and an inbound token for the
   ERP node;
2. starts the fake ERP and WMS, gunicorn and a Celery worker (PostgreSQL,
   Redis db 7) - each in its own process group (``stack.py``);
3. runs ``locustfile.py`` headless against 127.0.0.1, starts the
   reconciliation in the background part-way through (``traffic.py``), and
   samples the machine, CPU and memory per process, database connections and
   the Celery queue every second (``sampler.py``);
4. stops everything (also on failure or Ctrl-C), then checks that nothing was
   lost (``integrity.py``): the ledger and the balances agree and every scan key
   sent was applied exactly once (a key refused is applied never);
5. writes ``benchmarks-out/drill-<time>.json`` and ``.html`` (curves over time
   as inline SVG, ``report.py``, ``charts.py``), with the verdict against
   ``settings.DRILL_BUDGETS`` (``results.py``) and warnings on what limited it
   (``limits.py``). ``manage.py drill`` then records the run in its own
   database (``drills.DrillRun``; the page ``/drills/``).

The database setup, gunicorn and the CPU meter are ``drills/database.py``,
``drills/web_server.py`` and ``drills/cpu.py`` (shared with the benchmark in
``tests/bench``); starting and killing process groups ``drills/processes.py``.
"""
