"""Benchmark of release safety: snapshot and rollback of a 1 GB PostgreSQL database.

Run it with ``make bench`` (after the others) or
``.venv/bin/python -m tests.bench.bench_releases [--gb 1.0] [--runs 3]``. It is
not part of ``make test``.

1. drops and recreates its own database (``mes_release_bench``), migrates it
   (the real schema and indexes) and fills the stock ledger with set-based SQL
   until the database is ``--gb`` large (not measured);
2. starts gunicorn on it (2 workers) and waits for ``/readyz``;
3. per run: takes a snapshot through ``releases.snapshots.snapshot_create``
   (the template copy, closing the app's connections), records a release on
   it, writes a few movements after it, then times ``manage.py rollback
   --code none --smoke-url …`` from the command's start to its healthy end
   (export, restore, history, ``/readyz`` and reads answering 200 again);
4. prints the figures against the targets (snapshot < 60 s, rollback to a
   healthy ``/readyz`` < 300 s) and writes them as JSON under
   ``benchmarks-out/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from drills.database import migrate, pg_connect, reset_database, server_environment, setup_django

ROOT = Path(__file__).resolve().parents[2]
TARGET_SNAPSHOT_S = 60.0
TARGET_ROLLBACK_S = 300.0
CHUNK = 400_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_releases")
    parser.add_argument("--gb", type=float, default=1.0, help="database size to reach")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_release_bench")
    parser.add_argument("--reuse", action="store_true", help="keep the database of a former run")
    args = parser.parse_args(argv)
    args.redis_url = None
    return args


def database_bytes(args) -> int:
    with contextlib.closing(pg_connect(args)) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def fill(args, material_id: int, location_id: int) -> None:
    """Movements and ledger entries, 400,000 at a time, until the database is big enough."""
    target = int(args.gb * 1024**3)
    with contextlib.closing(pg_connect(args)) as connection:
        cursor = connection.cursor()
        while database_bytes(args) < target:
            cursor.execute(
                """
                WITH moved AS (
                  INSERT INTO inventory_stockmovement (idempotency_key, request_fingerprint,
                      movement_type, material_id, location_id, quantity, reason, reference,
                      source, device_id, note, occurred_at, recorded_at)
                  SELECT 'bench-' || md5(random()::text || n), md5(n::text), 'receipt', %s, %s,
                      1, '', 'bench', 'api', 'bench', '', now(), now()
                  FROM generate_series(1, %s) AS n
                  RETURNING id)
                INSERT INTO inventory_stockledgerentry (movement_id, material_id, location_id,
                    quantity, balance_after, occurred_at, recorded_at)
                SELECT id, %s, %s, 1, id, now(), now() FROM moved
                """,
                [material_id, location_id, CHUNK, material_id, location_id],
            )
            print(f"  {database_bytes(args) / 1024**2:.0f} MB", flush=True)


def wait_ready(url: str, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/readyz", timeout=5) as r:
            if r.status == 200:
                return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"{url}/readyz not ready after {seconds} s")


def start_web(args) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "mes.wsgi", "--bind", f"127.0.0.1:{args.port}",
        "--workers", "2", "--logger-class", "mes.logs.GunicornLogger",
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=server_environment(args), stdout=subprocess.DEVNULL
    )


def one_run(args, url: str) -> dict:
    from django.db import connection

    from inventory.models import StockMovement
    from releases import snapshots
    from releases.models import Release

    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    snapshot = snapshots.snapshot_create(label="bench")
    Release.objects.create(
        state="succeeded", version="bench-new", previous_version="bench-old",
        snapshot_id=snapshot.id, actor="bench",
    )  # fmt: skip
    with connection.cursor() as cursor:  # written after the snapshot: the rollback exports them
        cursor.execute(
            "INSERT INTO inventory_stockmovement (idempotency_key, request_fingerprint,"
            " movement_type, material_id, location_id, quantity, reason, reference, source,"
            " device_id, note, occurred_at, recorded_at)"
            " SELECT 'after-' || md5(random()::text || n), '', movement_type, material_id,"
            " location_id, quantity, '', 'after', source, device_id, '', now(), now()"
            " FROM inventory_stockmovement, generate_series(1, 3) AS n WHERE id = %s",
            [StockMovement.objects.order_by("pk").values_list("pk", flat=True).first()],
        )
    connection.close()
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "rollback", "--code", "none", "--smoke-url", url,
         "--actor", "bench"],
        cwd=ROOT, env=server_environment(args), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    rollback_s = time.monotonic() - started
    snapshots.snapshot_prune(keep=0)
    return {
        "snapshot_s": snapshot.seconds,
        "snapshot_mb": round(snapshot.size_bytes / 1024**2),
        "rollback_to_healthy_s": round(rollback_s, 1),
        "bench_cpu_s": round(resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu, 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MES_VAR_DIR", "/tmp/mes-release-bench")
    # The smoke check renders the sign-in page: no collectstatic run needed.
    os.environ["DJANGO_STATICFILES_STORAGE"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    print(f"preparing {args.db_name} ({args.gb} GB)...", flush=True)
    if not args.reuse:  # --reuse: the database of a former run, filled up to --gb
        reset_database(args)
        migrate(args)
    setup_django(args)
    from tests.factories import LocationFactory, MaterialFactory

    fill(args, MaterialFactory().pk, LocationFactory().pk)
    size_mb = database_bytes(args) / 1024**2
    web = start_web(args)
    url = f"http://127.0.0.1:{args.port}"
    try:
        wait_ready(url, 120)
        runs = [one_run(args, url) for _ in range(args.runs)]
    finally:
        web.terminate()
        web.wait(30)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database_mb": round(size_mb),
        "runs": runs,
        "targets": {"snapshot_s": TARGET_SNAPSHOT_S, "rollback_to_healthy_s": TARGET_ROLLBACK_S},
    }
    out = ROOT / "benchmarks-out"
    out.mkdir(exist_ok=True)
    (out / "releases.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    snapshot_ok = all(run["snapshot_s"] < TARGET_SNAPSHOT_S for run in runs)
    rollback_ok = all(run["rollback_to_healthy_s"] < TARGET_ROLLBACK_S for run in runs)
    return 0 if snapshot_ok and rollback_ok else 1


if __name__ == "__main__":
    sys.exit(main())
