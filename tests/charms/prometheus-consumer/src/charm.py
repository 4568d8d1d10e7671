#!/usr/bin/env python3
"""A metrics-endpoint consumer for lab tests, on ops and the prometheus_scrape library.

`MetricsEndpointConsumer` (prometheus_k8s v0 prometheus_scrape, LIBPATCH 56, from PyPI's
postgresql-charms-single-kernel) observes the relation itself and emits `targets_changed` when a
provider's data changes or a unit departs. On that event this charm asks the library for what
Prometheus would be configured with, `jobs()` (scrape jobs with the provider's unit addresses as
static targets and the Juju topology as labels) and `alerts` (the alert rule files, keyed by the
provider's topology identifier), and writes both to `derived.json` in the charm's directory. The
`derived` action returns that file's content, so a test reads exactly what the library derived
on the last event. Without the `cos-tool` binary (not shipped here) the library neither
validates nor rewrites the jobs and rules: they reach the test as the provider wrote them, after
the library's own processing (topology labels, job names, target expansion).
"""

import json
import logging
from pathlib import Path

import ops
from single_kernel_postgresql.lib.charms.prometheus_k8s.v0.prometheus_scrape import (
    MetricsEndpointConsumer,
)

logger = logging.getLogger(__name__)

DERIVED = Path("derived.json")


class PrometheusConsumerCharm(ops.CharmBase):
    """Records the scrape jobs and alert rules the library derives."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.metrics = MetricsEndpointConsumer(self, "metrics-endpoint")
        framework.observe(self.metrics.on.targets_changed, self._on_targets_changed)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.derived_action, self._on_derived)

    def _on_install(self, _event: ops.InstallEvent):
        self.unit.status = ops.ActiveStatus()

    def _on_targets_changed(self, event):
        jobs = self.metrics.jobs()
        alerts = self.metrics.alerts
        DERIVED.write_text(json.dumps({"jobs": jobs, "alerts": alerts}))
        rules = sum(
            len(group.get("rules", []))
            for rule_file in alerts.values()
            for group in rule_file.get("groups", [])
        )
        logger.info(
            "relation %d: %d scrape job(s), %d alert rule file(s), %d rule(s)",
            event.relation_id,
            len(jobs),
            len(alerts),
            rules,
        )

    def _on_derived(self, event: ops.ActionEvent):
        if not DERIVED.exists():
            event.fail("nothing derived yet: no metrics-endpoint event")
            return
        derived = json.loads(DERIVED.read_text())
        event.set_results(
            {"jobs": json.dumps(derived["jobs"]), "alerts": json.dumps(derived["alerts"])}
        )


if __name__ == "__main__":
    ops.main(PrometheusConsumerCharm)
