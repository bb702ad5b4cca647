"""No Docker engine runs here, so the compose file is checked against the code."""

import importlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def procfile():
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_compose_runs_the_whole_stack_with_healthchecks_and_named_volumes():
    services = compose()["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("db", "redis", "web", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], name
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    declared = set(compose()["volumes"])
    for name in ("db", "redis", "web", "worker", "beat"):
        for volume in services[name].get("volumes", []):
            assert volume.split(":", 1)[0] in declared, (name, volume)


def test_app_services_point_at_the_compose_database_and_redis():
    services = compose()["services"]
    db_env = services["db"]["environment"]
    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        database_url = environment["DATABASE_URL"]
        assert database_url.startswith("postgres://")
        assert f"{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}@db:5432/" in database_url
        assert database_url.endswith("/" + db_env["POSTGRES_DB"])
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")
        assert "DJANGO_SECRET_KEY" in environment


def test_compose_commands_match_the_processes_of_make_run():
    services = compose()["services"]
    processes = procfile()
    web = services["web"]["command"]
    assert web[0] == "gunicorn" and web[1] in processes["web"]
    importlib.import_module(web[1].split(":")[0])  # the WSGI module exists

    worker, beat = services["worker"]["command"], services["beat"]["command"]
    assert worker[:4] == ["celery", "-A", "mes", "worker"]
    assert beat[:4] == ["celery", "-A", "mes", "beat"]
    # make run adds --quiet (no banner) before the command.
    assert re.search(r"celery -A mes (--quiet )?worker", processes["worker"])
    assert re.search(r"celery -A mes (--quiet )?beat", processes["beat"])
    assert importlib.import_module("mes.celery").app.main == "mes"

    beat_check = services["beat"]["healthcheck"]["test"]
    assert beat_check[1:4] == ["python", "manage.py", "check_heartbeat"]
    importlib.import_module("monitoring.management.commands.check_heartbeat")


def test_migrations_run_before_the_app_starts():
    services = compose()["services"]
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
