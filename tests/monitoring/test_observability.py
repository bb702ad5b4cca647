"""The observability stack beside the app: rule files valid, every metric they name exported."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from integrations.models import Node
from monitoring.models import CheckedEndpoint, NodeThreshold
from monitoring.services.error_groups import error_occurrence_record

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "observability"
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
METRIC = re.compile(r"\bmes_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")
SEVERITIES = {"A", "B", "C"}
OBSERVABILITY = {"prometheus", "alertmanager", "loki", "promtail", "grafana"}


def _rules() -> list[dict]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def _dashboard_exprs() -> list[str]:
    exprs = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            if panel["datasource"]["type"] == "prometheus":
                exprs += [target["expr"] for target in panel["targets"]]
    return exprs


def test_rule_files_have_the_shape_prometheus_reads():
    assert RULES, "no rule file"
    names = set()
    for path in RULES:
        document = yaml.safe_load(path.read_text())
        assert set(document) == {"groups"}
        for group in document["groups"]:
            assert group["name"] and group["rules"]
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
                assert rule["alert"] not in names
                names.add(rule["alert"])
                assert (
                    isinstance(rule["expr"], str) and METRIC.search(rule["expr"])
                ) or "up{" in rule["expr"]
                assert rule["labels"]["severity"] in SEVERITIES
                assert re.fullmatch(r"[A-Z]{3}-\d{3}", rule["labels"]["code"])
                assert rule["annotations"]["summary"] and rule["annotations"]["action"]
                if "for" in rule:
                    assert re.fullmatch(r"\d+[smh]", rule["for"])
                assert rule["expr"].count("(") == rule["expr"].count(")")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules():
    result = subprocess.run(
        ["promtool", "check", "rules", *map(str, RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_configuration_files_parse_and_reference_what_exists():
    for path in DEPLOY.rglob("*.yml"):
        assert yaml.safe_load(path.read_text()), path
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in prometheus["scrape_configs"] if job["job_name"] == "mes"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"  # /metrics answers only with its token
    alertmanager = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    receivers = {receiver["name"] for receiver in alertmanager["receivers"]}
    assert alertmanager["route"]["receiver"] in receivers
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["panels"]


def test_the_compose_profile_runs_the_stack_with_pinned_images():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= OBSERVABILITY
    for name in OBSERVABILITY:
        service = services[name]
        assert service["profiles"] == ["observability"]
        image, _, tag = service["image"].rpartition(":")
        assert image and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), service["image"]
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    for name in ("db", "web", "worker", "beat"):
        assert "profiles" not in services[name]  # the app itself starts without the profile


@pytest.mark.django_db
def test_every_metric_a_rule_or_dashboard_names_is_exported(client, settings):
    settings.MES_METRICS_OPEN = True
    node = Node.objects.create(name="erp", kind="erp", transport="http_json")
    NodeThreshold.objects.create(
        node=node, max_lag_minutes=5, max_backlog=10, max_dead_letters=0, silence_minutes=60
    )
    CheckedEndpoint.objects.create(name="sms", url="http://127.0.0.1:9/")
    error_occurrence_record(code="SYS-001", place="view:x")
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    exported = set()
    for line in body.splitlines():
        match = re.match(r"(?:# (?:HELP|TYPE) )?(mes_[a-z0-9_]+)", line)
        if match:
            exported.add(match.group(1))
    named = {
        name
        for text in [r["expr"] for r in _rules()] + _dashboard_exprs()
        for name in METRIC.findall(text)
    }
    assert named, "no metric named"

    def base(name: str) -> set[str]:
        return {name} | {name[: -len(suffix)] for suffix in SUFFIXES if name.endswith(suffix)}

    missing = {name for name in named if not (base(name) & exported)}
    # Read from PostgreSQL only (pg_stat_activity): exported there, absent on SQLite.
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        missing -= {"mes_db_connections", "mes_db_max_connections"}
    assert missing == set()
