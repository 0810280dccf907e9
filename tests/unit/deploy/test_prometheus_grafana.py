"""deploy/prometheus and deploy/grafana: promtool checks the alert rules and runs their unit
tests; each alert has a test in which it fires; the dashboard is well formed. (That every
metric they name is exported by a real server: tests/e2e/test_monitoring_names.py.)"""
from __future__ import annotations

import subprocess

import pytest
import yaml
from support.monitoring import (
    DASHBOARD,
    RULE_TESTS,
    RULES,
    alert_rules,
    dashboard,
    dashboard_exprs,
    metric_names,
)
from support.tools import required_tool

# What issue 10 asks the rules to cover, by the alert that does.
REQUIRED = {
    "stale CRL": "AcmeehCRLStale",
    "unhealthy CA": "AcmeehCAUnhealthy",
    "5xx rate": "AcmeehHigh5xxRate",
    "issuance stopped": "AcmeehIssuanceStopped",
    "pool saturation": "AcmeehDatabasePoolSaturated",
    "expiry backlog": "AcmeehExpiryBacklog",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return required_tool("promtool", "apt-get install prometheus")


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60,
                          cwd=RULES.parent, check=False)


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = run(promtool, "check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_rule_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_shown_to_fire_and_the_issue_is_covered() -> None:
    fired = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
             for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    names = {rule["alert"] for rule in alert_rules()}
    assert names <= fired, f"alerts no test shows firing: {sorted(names - fired)}"
    assert set(REQUIRED.values()) <= names


def test_every_alert_has_severity_and_annotations() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule.get("for"), f"{rule['alert']} would fire on a single bad scrape"


def test_dashboard_is_importable() -> None:
    board = dashboard()
    assert board["uid"] == "acmeeh-overview" and board["title"] == "ACMEEH"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
    assert DASHBOARD.read_text().endswith("}\n")


@pytest.mark.parametrize(("expr", "names"), [
    ('sum(rate(acmeeh_http_requests_total{status=~"5.."}[5m]))', {"acmeeh_http_requests_total"}),
    ('up{job="acmeeh"} == 0', {"up"}),
    ("histogram_quantile(0.99, sum by (le) (rate(acmeeh_x_bucket[1m])))", {"acmeeh_x_bucket"}),
    ('label_values(acmeeh_uptime_seconds, instance)', {"acmeeh_uptime_seconds"}),
])
def test_metric_names_are_read_from_expressions(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_every_panel_reads_some_acmeeh_metric() -> None:
    assert all(metric_names(expr) for expr in dashboard_exprs())
