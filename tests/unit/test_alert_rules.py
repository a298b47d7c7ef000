"""The alerting rules: well formed, each with a runbook entry in the README, and each metric
they read is one the suite exports (a renamed metric would leave an alert that never fires)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = yaml.safe_load((ROOT / "infra/prometheus/alerts.yml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
ALERTS = [r for g in RULES["groups"] for r in g["rules"]]


def exported_metric_names() -> set[str]:
    """Every suite_* name the code registers (counters also export *_total, histograms *_bucket)."""
    names = set()
    for path in list((ROOT / "services").rglob("*.py")) + list((ROOT / "gateway").rglob("*.py")):
        names |= set(re.findall(r'"(suite_[a-z_]+)"', path.read_text(encoding="utf-8")))
    return names | {n + "_total" for n in names} | {n + "_bucket" for n in names}


def test_every_alert_is_complete_and_has_a_runbook_entry():
    assert len(ALERTS) >= 8
    for rule in ALERTS:
        assert set(rule) >= {"alert", "expr", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in ("page", "ticket")
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert f"### {rule['alert']}" in README, f"no runbook entry for {rule['alert']}"


def test_alerts_read_only_metrics_the_suite_exports():
    exported = exported_metric_names()
    for rule in ALERTS:
        for name in re.findall(r"\bsuite_[a-z_]+", rule["expr"]):
            assert name in exported, f"{rule['alert']} reads {name}, which nothing exports"
