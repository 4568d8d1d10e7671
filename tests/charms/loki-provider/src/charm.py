#!/usr/bin/env python3
"""A Loki push API provider for lab tests, on ops and the loki_push_api v1 library.

The provider is the library's `LokiPushApiProvider` (charms.loki_k8s v1 loki_push_api, shipped
on PyPI in postgresql-charms-single-kernel): on every `logging` relation event it writes this
unit's `endpoint` (`{"url": ".../loki/api/v1/push"}`) itself. This charm only says which URL:
the library takes a custom URL through `update_endpoint(url)` and keeps it for the life of the
charm object, i.e. one hook, so the charm hands it over again in every hook where the library
writes (after it, as the library observes first) and on config-changed.

It also records what the consumer published (`metadata`, `alert_rules` in the consumer's
application bag) in its status, so a test can see that the consumer followed the protocol.
"""

import json
import logging

import ops
from single_kernel_postgresql.lib.charms.loki_k8s.v1.loki_push_api import LokiPushApiProvider

logger = logging.getLogger(__name__)

RELATION = "logging"


class LokiProviderCharm(ops.CharmBase):
    """Advertises its configured push endpoint through the library."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.loki = LokiPushApiProvider(self, relation_name=RELATION)
        events = self.on[RELATION]
        framework.observe(self.on.install, self._update)
        framework.observe(self.on.config_changed, self._update)
        framework.observe(self.on.upgrade_charm, self._update)
        framework.observe(events.relation_joined, self._update)
        framework.observe(events.relation_changed, self._update)
        framework.observe(events.relation_departed, self._update)

    def _update(self, _event: ops.EventBase):
        url = str(self.config.get("url", "")).strip()
        if url and self.model.relations[RELATION]:
            self.loki.update_endpoint(url=url)
        self._set_status(url)

    def _set_status(self, url: str):
        consumers = []
        for relation in self.model.relations[RELATION]:
            app = relation.app
            if app is None:
                continue
            bag = relation.data[app]
            metadata = bag.get("metadata")
            try:
                application = json.loads(metadata).get("application") if metadata else None
            except (ValueError, AttributeError):
                application = None
            consumers.append(
                f"{app.name}(metadata={application or '-'},rules={'yes' if 'alert_rules' in bag else 'no'})"
            )
        where = url or "default"
        self.unit.status = ops.ActiveStatus(f"push endpoint {where}; consumers: {' '.join(consumers) or 'none'}")


if __name__ == "__main__":
    ops.main(LokiProviderCharm)
