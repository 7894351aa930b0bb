"""``deploy/observability/``: the alert rules and the Grafana dashboard name only metrics the
code defines (``shared_kernel.metrics.REGISTRY``), the dashboard shows what an operator
watches, and Prometheus scrapes the ports ``make run`` uses. No promtool: the PromQL is
parsed just enough to find the metric names in it."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from shared_kernel.metrics import metric_names

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"

sys.path.insert(0, str(ROOT / "deploy"))
run: Any = importlib.import_module("run")  # deploy/run.py: the ports of `make run`

pytestmark = pytest.mark.unit

# PromQL words that are not metric names (operators and modifiers; functions are found by the
# parenthesis after them).
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^}]*\}")
RANGES = re.compile(r"\[[^\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
NUMBERS = re.compile(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers left once strings, label
    matchers, ranges, grouping clauses and numbers are gone, other than functions and
    keywords."""
    text = expr
    for pattern in (STRINGS, MATCHERS, RANGES, GROUPING, NUMBERS):
        text = pattern.sub(" ", text)
    return {
        m.group()
        for m in IDENTIFIER.finditer(text)
        if m.group().lower() not in KEYWORDS and not text[m.end() :].lstrip().startswith("(")
    }


def unknown_metrics(expr: str) -> set[str]:
    """The names an expression reads that the code does not define; an expression that reads
    no metric at all is reported as such (it could never fire or draw anything)."""
    found = metrics_in(expr)
    return found - metric_names() if found else {f"<no metric in {expr!r}>"}


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    return loaded


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def test_the_checker_names_a_metric_the_code_does_not_define() -> None:
    # The test below is only worth something if a typo fails it.
    expr = 'sum by (service) (rate(backoffice_dead_letter_total{service=~"$s"}[5m])) > 0'
    assert metrics_in(expr) == {"backoffice_dead_letter_total"}
    assert unknown_metrics(expr) == {"backoffice_dead_letter_total"}
    assert unknown_metrics("up == 0") == {"up"}  # not ours either
    assert unknown_metrics("vector(1) > 0.5e3") == {"<no metric in 'vector(1) > 0.5e3'>"}
    p99 = (
        "histogram_quantile(0.99,"
        " sum by (le) (rate(backoffice_http_request_duration_seconds_bucket[5m])))"
    )
    assert unknown_metrics(p99) == set()


def test_every_alert_rule_reads_metrics_the_code_defines() -> None:
    rules = alert_rules()
    assert len(rules) >= 4
    unknown = {rule["alert"]: unknown_metrics(rule["expr"]) for rule in rules}
    assert {alert: names for alert, names in unknown.items() if names} == {}
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "warn"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_alerts_cover_lag_dead_letters_error_rate_and_sla_breaches() -> None:
    read = set().union(*(metrics_in(rule["expr"]) for rule in alert_rules()))
    assert {
        "backoffice_relay_lag_positions",
        "backoffice_projection_lag_messages",
        "backoffice_inbox_lag_messages",
        "backoffice_dead_letters_total",
        "backoffice_http_requests_total",
        "backoffice_sla_alarms_total",
    } <= read


def test_every_dashboard_query_reads_metrics_the_code_defines() -> None:
    queries = dashboard_queries()
    assert {query: unknown_metrics(query) for query in queries if unknown_metrics(query)} == {}
    variables = [v["query"] for v in dashboard()["templating"]["list"] if v["type"] == "query"]
    for query in variables:
        found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
        assert found and found.group(1) in metric_names(), query


def test_the_dashboard_shows_what_an_operator_watches() -> None:
    shown = set().union(*(metrics_in(query) for query in dashboard_queries()))
    # Every metric the code defines has a panel (a new one needs one too).
    defined = {
        name.removesuffix("_total")
        for name in metric_names()
        if not name.endswith(("_created", "_bucket", "_sum", "_count"))
    }
    drawn = {name.removesuffix("_total").removesuffix("_bucket") for name in shown}
    assert defined - drawn == {"backoffice_lag_sample_failures"}  # an alert, not a panel
    titles = " | ".join(panel["title"] for panel in dashboard()["panels"])
    for topic in ("Request rate", "Error rate", "p99", "Relay lag", "Projection lag", "Dead"):
        assert topic in titles


def test_prometheus_scrapes_every_process_of_make_run_and_loads_the_rules() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    ports = [*run.SERVICES.values(), run.GATEWAY_PORT, run.CONSOLE_PORT]
    assert targets == {f"127.0.0.1:{port}" for port in ports}
    assert all(
        job.get("metrics_path", "/metrics") == "/metrics" for job in config["scrape_configs"]
    )
    for rule_file in config["rule_files"]:
        assert (OBSERVABILITY / rule_file).is_file()
