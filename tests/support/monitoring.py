"""The monitoring files shipped under deploy/: the Prometheus alert rules, their promtool tests
and the Grafana dashboard, and the metric names they use."""
from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .database import ROOT

RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "acmeeh.json"
# Series Prometheus itself makes for every target; the server cannot (and need not) export them.
FROM_PROMETHEUS = frozenset({"up"})
_NAME = re.compile(r"\b(acmeeh_[a-z0-9_]+|up)\b(?!\s*\()")


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and query variables."""
    exprs = [target["expr"] for panel in dashboard()["panels"]
             for target in panel.get("targets", [])]
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            exprs.append(query["query"])
    return exprs


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads (acmeeh_* and Prometheus' own `up`)."""
    return set(_NAME.findall(expr))


def names_used() -> dict[str, set[str]]:
    """{metric name: the alerts and dashboard panels that use it}."""
    used: dict[str, set[str]] = {}
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"alert {rule['alert']}")
    for expr in dashboard_exprs():
        for name in metric_names(expr):
            used.setdefault(name, set()).add("dashboard")
    return used
