"""Feed the charm's COS relation bags to the real consumer libraries and print what they derive.

Usage: python3 decode.py BAGS.json
BAGS.json: {"remote_app": ..., "units": {"<unit>": {<metrics unit bag>}},
            "metrics_app": {<metrics app bag>}, "dashboards_app": {<grafana app bag>}}
Prints one JSON object: the scrape jobs and alert rule groups the prometheus_scrape consumer
builds, and the dashboards the grafana_dashboard consumer stores (decompressed).
"""

import json
import sys

import ops
from ops.testing import Harness

from single_kernel_postgresql.lib.charms.grafana_k8s.v0 import grafana_dashboard as gd
from single_kernel_postgresql.lib.charms.prometheus_k8s.v0 import prometheus_scrape as ps

META = """
name: cos-consumer
requires:
  metrics-endpoint:
    interface: prometheus_scrape
  grafana-dashboard:
    interface: grafana_dashboard
peers:
  grafana:
    interface: grafana_peers
"""


class Consumer(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.metrics = ps.MetricsEndpointConsumer(self)
        self.dashboards = gd.GrafanaDashboardConsumer(self)

    @property
    def peers(self):
        # The consumer keeps what it rendered in the Grafana charm's peer relation.
        return self.model.get_relation("grafana")


def main():
    bags = json.load(open(sys.argv[1]))
    remote = bags["remote_app"]
    h = Harness(Consumer, meta=META)
    h.set_leader(True)
    h.begin()
    h.add_relation("grafana", "cos-consumer")
    out = {}

    rel = h.add_relation("metrics-endpoint", remote)
    for unit, data in bags["units"].items():
        h.add_relation_unit(rel, unit)
        h.update_relation_data(rel, unit, data)
    h.update_relation_data(rel, remote, bags["metrics_app"])
    out["jobs"] = h.charm.metrics.jobs()
    out["alerts"] = h.charm.metrics.alerts

    rel = h.add_relation("grafana-dashboard", remote)
    h.add_relation_unit(rel, next(iter(bags["units"])))
    h.update_relation_data(rel, remote, bags["dashboards_app"])
    out["dashboards"] = [
        {
            "id": d["id"],
            "charm": d["charm"],
            "uid": d["dashboard_uid"],
            "title": d["dashboard_title"],
            "content": json.loads(d["content"]),
        }
        for d in h.charm.dashboards.dashboards
    ]
    # What the provider library itself would name things, for comparison.
    out["library_uids"] = {
        stem: {
            "uid": gd.DashboardPath40UID.generate(
                "postgresql-k8s", f"src/grafana_dashboards/{stem}.json"
            ),
            "alt_uid": gd.CharmedDashboard._generate_alt_uid("postgresql-k8s", f"file:{stem}"),
        }
        for stem in (
            "postgresql-metrics",
            "postgresql-patroni-metrics",
            "postgresql-pgbackrest-metrics",
        )
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
