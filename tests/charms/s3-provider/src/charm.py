#!/usr/bin/env python3
"""An S3 credentials provider for lab tests, on ops and the data-platform s3 library.

The provider is the library's `S3Provider` (charms.data_platform_libs v0 s3, shipped on PyPI
in postgresql-charms-single-kernel): it observes `s3-credentials-relation-changed` itself and,
on the leader, emits `credentials_requested` when the requirer's `bucket` first appears (it
keeps the requirer's data it has seen under `data` in this application's databag, to diff).
This charm only decides what to publish:

- on `credentials_requested`, and on config-changed for every relation (leader only), it
  publishes its config through the library's `update_connection_info`: `bucket` (the config's,
  or the requirer's own when the config has none), `access-key`, `secret-key`, `endpoint`,
  `region`, `path`, `s3-uri-style`, `tls-ca-chain` (the PEM bundle split into a list of
  certificates, which the library writes as JSON) and `delete-older-than-days` (through the
  library's setter, which writes it as a string);
- an option that is empty (or unset) is not published, and removed if it was.

Its status is active when both keys are set, blocked otherwise; it publishes either way.
"""

import logging

import ops
from single_kernel_postgresql.lib.charms.data_platform_libs.v0.s3 import (
    CredentialRequestedEvent,
    S3Provider,
)

logger = logging.getLogger(__name__)

RELATION = "s3-credentials"
# Config options published as the key of the same name, as strings.
PLAIN_OPTIONS = ("access-key", "secret-key", "endpoint", "region", "path", "s3-uri-style")
PEM_END = "-----END CERTIFICATE-----"


class S3ProviderCharm(ops.CharmBase):
    """Hands out its config as S3 connection info through the library."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.s3 = S3Provider(self, RELATION)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.config_changed, self._on_config_changed)
        framework.observe(self.s3.on.credentials_requested, self._on_credentials_requested)

    # --- events ---

    def _on_install(self, _event: ops.InstallEvent):
        self._set_status()

    def _on_config_changed(self, _event: ops.ConfigChangedEvent):
        self._set_status()
        if not self.unit.is_leader():
            return
        for relation in self.s3.relations:
            self._publish(relation)

    def _on_credentials_requested(self, event: CredentialRequestedEvent):
        if not self.unit.is_leader():
            return
        logger.info(
            "credentials requested on relation %d for bucket %r", event.relation.id, event.bucket
        )
        self._publish(event.relation)

    # --- helpers ---

    def _publish(self, relation: ops.Relation):
        """Write the config into `relation`'s application databag through the library."""
        requested = ""
        if relation.app is not None:
            requested = relation.data[relation.app].get("bucket", "")
        # An empty value makes ops delete the key: a cleared option disappears.
        info = {"bucket": self._option("bucket") or requested}
        for option in PLAIN_OPTIONS:
            info[option] = self._option(option)
        chain = _split_pem(self._option("tls-ca-chain"))
        if chain:
            info["tls-ca-chain"] = chain
        elif "tls-ca-chain" in relation.data[self.app]:
            # The library would write an empty list as "[]": remove the key itself.
            relation.data[self.app]["tls-ca-chain"] = ""
        self.s3.update_connection_info(relation.id, info)
        days = self.config.get("delete-older-than-days")
        if days is not None:
            self.s3.set_delete_older_than_days(relation.id, int(days))
        elif "delete-older-than-days" in relation.data[self.app]:
            relation.data[self.app]["delete-older-than-days"] = ""
        logger.info(
            "published bucket %r, endpoint %r, %d CA certificate(s) on relation %d",
            info["bucket"],
            info["endpoint"],
            len(chain),
            relation.id,
        )

    def _option(self, name: str) -> str:
        return str(self.config.get(name, "") or "").strip()

    def _set_status(self):
        missing = [k for k in ("access-key", "secret-key") if not self._option(k)]
        if missing:
            self.unit.status = ops.BlockedStatus(f"missing {' and '.join(missing)}")
        else:
            self.unit.status = ops.ActiveStatus()


def _split_pem(bundle: str) -> list[str]:
    """The certificates of a PEM bundle, each as its own PEM string (with its END line)."""
    certificates = []
    for part in bundle.split(PEM_END):
        part = part.strip()
        if part:
            certificates.append(f"{part}\n{PEM_END}")
    return certificates


if __name__ == "__main__":
    ops.main(S3ProviderCharm)
