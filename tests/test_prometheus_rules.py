"""The alert rules and the scrape config in deploy/prometheus/ pass promtool's checks and their unit
tests (portal.rules.test.yml: each alert fires on the series that should raise it, and not otherwise),
and every portal_* series the rules and the Grafana dashboard use is one /metrics serves. A real
Prometheus runs the dashboard's queries in tests/test_operator_view_live.py."""

import json
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from gateway.metrics import Metrics
from tests.parts import missing, need_commands, need_redis

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
DASHBOARD = DEPLOY.parent / "grafana" / "dashboards" / "portal.json"
SERIES = re.compile(r"\b(portal_[a-z_]+?)(?:_bucket|_count|_sum)?\b")


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]
NEED_PROMTOOL = missing(need_commands(["promtool"], "Debian: prometheus; scripts/test installs it"))


def promtool(*args: str) -> str:
    result = subprocess.run(["promtool", *args], cwd=DEPLOY, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@NEED_PROMTOOL
def test_the_rules_pass_promtool_check_rules():
    assert "SUCCESS: 16 rules found" in promtool("check", "rules", "portal.rules.yml")
    assert "SUCCESS: 2 rules found" in promtool("check", "rules", "gateway.rules.yml")


@NEED_PROMTOOL
def test_the_scrape_config_passes_promtool_check_config():
    assert "is valid prometheus config file syntax" in promtool("check", "config", "prometheus.yml")


@NEED_PROMTOOL
@pytest.mark.parametrize("rules_file", ["portal", "gateway"])
def test_every_alert_has_unit_tests_that_pass(rules_file):
    rules = set(re.findall(r"- alert: (\w+)", (DEPLOY / f"{rules_file}.rules.yml").read_text()))
    tested = set(re.findall(r"alertname: (\w+)", (DEPLOY / f"{rules_file}.rules.test.yml").read_text()))
    assert rules == tested
    assert "SUCCESS" in promtool("test", "rules", f"{rules_file}.rules.test.yml")


@missing(need_redis())  # the queues' consumers are read from a Redis broker only
@pytest.mark.django_db
def test_the_rules_and_the_dashboard_name_only_series_the_portal_serves(client):
    served = {
        line.split()[2] for line in client.get("/metrics").content.decode().splitlines() if line.startswith("# TYPE")
    }
    served |= {f"{name}_total" for name in served}
    in_rules = set(SERIES.findall((DEPLOY / "portal.rules.yml").read_text()))
    on_dashboard = set(SERIES.findall(" ".join(dashboard_queries())))
    assert len(in_rules) >= 10 and len(on_dashboard) >= 15
    assert in_rules <= served, in_rules - served
    assert on_dashboard <= served, on_dashboard - served


def test_the_gateway_rules_name_only_series_the_gateway_serves():
    exposition = generate_latest(Metrics().registry).decode()
    served = {line.split()[2] for line in exposition.splitlines() if line.startswith("# TYPE")}
    served |= {f"{name}_total" for name in served} | {"up"}
    in_rules = set(re.findall(r"\b(port25_gateway_[a-z_]+|up)\b", (DEPLOY / "gateway.rules.yml").read_text()))
    assert "port25_gateway_changes_total" in in_rules
    assert in_rules <= served, in_rules - served
