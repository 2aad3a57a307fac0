"""The alert rules: valid for Prometheus, every alert unit-tested by promtool, one source for both forms."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus; "
                                    "scripts/test-extras.sh does it)")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)


@needs_promtool
def test_rules_file_is_valid_for_prometheus() -> None:
    result = _promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


@needs_promtool
def test_every_alert_fires_and_stays_quiet_under_promtool() -> None:
    result = _promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = {r["alert"] for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    assert alerts == {"VideoGenerationErrorRateHigh", "VideoGenerationSlow", "KafkaConsumerLagHigh",
                      "VideosStuckInQueue", "OutboxBacklogGrowing", "PaidProviderCircuitOpen"}
    cases = [check for test in yaml.safe_load((MONITORING / "alerts_test.yml").read_text())["tests"]
             for check in test["alert_rule_test"]]
    fired = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert fired == alerts and quiet == alerts


def test_helm_files_are_rendered_from_the_sources() -> None:
    result = subprocess.run([sys.executable, str(MONITORING / "render.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rule = yaml.safe_load((ROOT / "helm-values" / "prometheus-rule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == yaml.safe_load((MONITORING / "alerts.yml").read_text())
    dashboard = yaml.safe_load((ROOT / "helm-values" / "grafana-dashboard.yaml").read_text())
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert yaml.safe_load(dashboard["data"]["nexus-video.json"]) == \
        yaml.safe_load((MONITORING / "grafana" / "nexus-video.json").read_text())
