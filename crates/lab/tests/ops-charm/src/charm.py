#!/usr/bin/env python3
"""A demo charm on ops: shares a secret with a related application and greets by action."""

import ops


class DemoCharm(ops.CharmBase):
    """Provider side writes app data and a granted secret; requirer side reads both."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.shared_relation_joined, self._on_shared_joined)
        framework.observe(self.on.other_relation_changed, self._on_other_changed)
        framework.observe(self.on.friends_relation_joined, self._on_friend)
        framework.observe(self.on.greet_action, self._on_greet)
        framework.observe(self.on.rotate_action, self._on_rotate)
        framework.observe(self.on.secret_changed, self._on_secret_changed)

    def _on_install(self, _event):
        self.unit.status = ops.ActiveStatus("installed")

    def _on_friend(self, event: ops.RelationJoinedEvent):
        event.relation.data[self.unit]["hello-from"] = self.unit.name

    def _on_shared_joined(self, event: ops.RelationJoinedEvent):
        if not self.unit.is_leader():
            return
        # relation-joined fires once per remote unit: create the secret only once.
        try:
            secret = self.model.get_secret(label="demo-token")
        except ops.SecretNotFoundError:
            secret = self.app.add_secret(
                {"token": f"s3cr3t-from-{self.app.name}"}, label="demo-token"
            )
            secret.grant(event.relation)
        data = event.relation.data[self.app]
        # A secret looked up by label has no id until we ask for its info.
        data["token-secret"] = secret.id or secret.get_info().id
        data["greeting"] = str(self.config["greeting"])
        self.unit.status = ops.ActiveStatus("shared a token")

    def _on_other_changed(self, event: ops.RelationChangedEvent):
        data = event.relation.data[event.app]
        secret_id = data.get("token-secret")
        if not secret_id:
            self.unit.status = ops.WaitingStatus("waiting for a token")
            return
        secret = self.model.get_secret(id=secret_id, label="their-token")
        token = secret.get_content()["token"]
        event.relation.data[self.unit]["got"] = token
        self.unit.status = ops.ActiveStatus(f"got {token} and {data.get('greeting')}")

    def _on_secret_changed(self, event: ops.SecretChangedEvent):
        token = event.secret.get_content(refresh=True)["token"]
        self.unit.status = ops.ActiveStatus(f"token rotated to {token}")

    def _on_greet(self, event: ops.ActionEvent):
        event.log("greeting")
        greeting = self.config["greeting"]
        event.set_results({"message": f"{greeting} {event.params['who']}", "by.unit": self.unit.name})


    def _on_rotate(self, event: ops.ActionEvent):
        secret = self.model.get_secret(label="demo-token")
        secret.set_content({"token": event.params["token"]})
        event.set_results({"done": "true"})


if __name__ == "__main__":
    ops.main(DemoCharm)
