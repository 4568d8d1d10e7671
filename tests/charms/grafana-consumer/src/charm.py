#!/usr/bin/env python3
"""A grafana-dashboard consumer for lab tests, on ops and the grafana_dashboard library.

`GrafanaDashboardConsumer` (grafana_k8s v0 grafana_dashboard, LIBPATCH 47, from PyPI's
postgresql-charms-single-kernel) observes the relation itself: on the leader it decodes every
template of the provider's `dashboards` field (lzma + base64), fixes the datasource fields,
keeps the result in the `grafana` peer relation's application data (read through this charm's
`peers` property, as the library expects) and emits `dashboards_changed`. On that event this
charm writes the library's `dashboards` (each with its JSON `content`) to `derived.json` in the
charm's directory; the `derived` action returns it. Templates the library cannot decode are
reported by the library in this application's relation data (`event`), which is logged here.
"""

import json
import logging
from pathlib import Path
from typing import Optional

import ops
from single_kernel_postgresql.lib.charms.grafana_k8s.v0.grafana_dashboard import (
    GrafanaDashboardConsumer,
)

logger = logging.getLogger(__name__)

DERIVED = Path("derived.json")
RELATION = "grafana-dashboard"


class GrafanaConsumerCharm(ops.CharmBase):
    """Records the dashboards the library decodes."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.dashboards = GrafanaDashboardConsumer(self, RELATION)
        framework.observe(self.dashboards.on.dashboards_changed, self._on_dashboards_changed)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.derived_action, self._on_derived)

    @property
    def peers(self) -> Optional[ops.Relation]:
        """The `grafana` peer relation, where the library keeps the decoded dashboards."""
        return self.model.get_relation("grafana")

    def _on_install(self, _event: ops.InstallEvent):
        self.unit.status = ops.ActiveStatus()

    def _on_dashboards_changed(self, _event):
        dashboards = [
            {
                "id": d["id"],
                "title": d["dashboard_title"],
                "uid": d["dashboard_uid"],
                "content": d["content"],
            }
            for d in self.dashboards.dashboards
        ]
        DERIVED.write_text(json.dumps(dashboards))
        for relation in self.model.relations[RELATION]:
            errors = relation.data[self.app].get("event")
            if errors:
                logger.warning("relation %d: library reported %s", relation.id, errors)
        logger.info("%d dashboard(s): %s", len(dashboards), [d["title"] for d in dashboards])

    def _on_derived(self, event: ops.ActionEvent):
        if not DERIVED.exists():
            event.fail("nothing derived yet: no grafana-dashboard event")
            return
        event.set_results({"dashboards": DERIVED.read_text()})


if __name__ == "__main__":
    ops.main(GrafanaConsumerCharm)
