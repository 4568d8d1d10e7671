#!/usr/bin/env python3
"""A PostgreSQL client for lab tests, on ops and the data-platform requirer library.

The requirer is the library's `DatabaseRequires` (charms.data_platform_libs v0
data_interfaces, shipped on PyPI in postgresql-charms-single-kernel): on relation-created the
library itself writes the request (`database`, `extra-user-roles`, `requested-secrets`), and on
relation-changed it decides when the database is created and reads the credentials, from the
Juju secret the provider points to when it used one. This charm only uses what it gets:

- on `database_created`, it connects with psycopg2 to the first endpoint, creates the table
  `lab_check` and inserts a row, then shows `connected as <username>` (blocked with the error's
  first line when it cannot connect);
- action `write` inserts a note the same way and returns the row count;
- action `get-credentials-info` returns what the library read, never the password.

The password is never logged nor written to a file: the library fetches it again when needed.
"""

import logging
from pathlib import Path

import ops
import psycopg2
from single_kernel_postgresql.lib.charms.data_platform_libs.v0.data_interfaces import (
    DatabaseCreatedEvent,
    DatabaseEndpointsChangedEvent,
    DatabaseRequires,
)

logger = logging.getLogger(__name__)

RELATION = "database"
CA_FILE = "tls-ca.pem"
CONNECT_TIMEOUT = 10


class Credentials:
    """What the provider gave, as the library read it."""

    def __init__(self, fields: dict[str, str | None], fallback_database: str):
        self.username = fields.get("username") or ""
        self.password = fields.get("password") or ""
        self.endpoints = fields.get("endpoints") or ""
        self.database = fields.get("database") or fallback_database
        self.tls = fields.get("tls") or ""
        self.tls_ca = fields.get("tls-ca") or ""

    def complete(self) -> bool:
        return bool(self.username and self.password and self.endpoints)


class DbClientCharm(ops.CharmBase):
    """Requests a database through the library and checks that its credentials work."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(username="", endpoints="", database="")
        roles = str(self.config.get("extra-user-roles", "") or "")
        # The library observes database-relation-created/changed and secret-changed itself.
        self.database = DatabaseRequires(
            self,
            RELATION,
            database_name=self._requested_database(),
            extra_user_roles=roles or None,
        )
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.database.on.database_created, self._on_database_created)
        framework.observe(self.database.on.endpoints_changed, self._on_endpoints_changed)
        framework.observe(self.on[RELATION].relation_broken, self._on_relation_broken)
        framework.observe(self.on.write_action, self._on_write)
        framework.observe(self.on.get_credentials_info_action, self._on_get_credentials_info)

    # --- events ---

    def _on_install(self, _event: ops.InstallEvent):
        self.unit.status = ops.WaitingStatus("waiting for the database relation")

    def _on_database_created(self, event: DatabaseCreatedEvent):
        # The event's accessors read the provider's secret (`secret-user`, `secret-tls`) when it
        # points to one, and the databag otherwise.
        credentials = Credentials(
            {
                "username": event.username,
                "password": event.password,
                "endpoints": event.endpoints,
                "database": event.database,
                "tls": event.tls,
                "tls-ca": event.tls_ca,
            },
            self._requested_database(),
        )
        logger.info(
            "received credentials on relation %d: username %s, endpoints %s, database %s, "
            "tls %r, tls-ca %s, password %s",
            event.relation.id,
            credentials.username or "(none)",
            credentials.endpoints or "(none)",
            credentials.database,
            credentials.tls,
            "given" if credentials.tls_ca else "not given",
            "given" if credentials.password else "missing",
        )
        self._remember(credentials)
        self._check(credentials)

    def _on_endpoints_changed(self, event: DatabaseEndpointsChangedEvent):
        logger.info("endpoints changed on relation %d: %s", event.relation.id, event.endpoints)
        credentials = self._credentials()
        if credentials is not None and credentials.complete():
            self._remember(credentials)
            self._check(credentials)

    def _on_relation_broken(self, _event: ops.RelationBrokenEvent):
        self._stored.username = ""
        self._stored.endpoints = ""
        self._stored.database = ""
        self.unit.status = ops.WaitingStatus("waiting for the database relation")

    def _on_write(self, event: ops.ActionEvent):
        credentials = self._credentials()
        if credentials is None or not credentials.complete():
            event.fail("no credentials from the database relation yet")
            return
        note = str(event.params["note"])
        try:
            rows = self._execute(
                credentials,
                [("INSERT INTO lab_check (note) VALUES (%s)", (note,))],
                "SELECT count(*) FROM lab_check",
            )
        except (psycopg2.Error, ValueError) as e:
            event.fail(f"cannot write: {_first_line(e)}")
            return
        logger.info("wrote a note as %s", credentials.username)
        event.set_results({"rows": str(rows)})

    def _on_get_credentials_info(self, event: ops.ActionEvent):
        credentials = self._credentials()
        relation = self.model.get_relation(RELATION)
        pointer = ""
        if relation is not None and relation.app is not None:
            pointer = relation.data[relation.app].get("secret-user", "")
        event.set_results(
            {
                "username": credentials.username if credentials else self._stored.username,
                "endpoints": credentials.endpoints if credentials else self._stored.endpoints,
                "database": credentials.database if credentials else self._stored.database,
                "secret-user": pointer,
            }
        )

    # --- helpers ---

    def _requested_database(self) -> str:
        return str(self.config.get("database", "app_db") or "app_db")

    def _credentials(self) -> Credentials | None:
        """The provider's answer through the library (the secret when it used one), or None."""
        relation = self.model.get_relation(RELATION)
        if relation is None or relation.app is None:
            return None
        fields = self.database.fetch_relation_data(
            [relation.id],
            ["username", "password", "endpoints", "database", "tls", "tls-ca"],
        ).get(relation.id, {})
        return Credentials(fields, self._stored.database or self._requested_database())

    def _remember(self, credentials: Credentials):
        self._stored.username = credentials.username
        self._stored.endpoints = credentials.endpoints
        self._stored.database = credentials.database

    def _check(self, credentials: Credentials):
        """Connect, make sure lab_check exists and add a row; the unit's status says how it went."""
        try:
            self._execute(
                credentials,
                [
                    (
                        "CREATE TABLE IF NOT EXISTS lab_check (id serial primary key, note text)",
                        None,
                    ),
                    ("INSERT INTO lab_check (note) VALUES ('hello from db-client')", None),
                ],
            )
        except (psycopg2.Error, ValueError) as e:
            message = _first_line(e)
            logger.warning("cannot connect as %s: %s", credentials.username, message)
            self.unit.status = ops.BlockedStatus(f"cannot connect: {message}")
            return
        logger.info("connected as %s", credentials.username)
        self.unit.status = ops.ActiveStatus(f"connected as {credentials.username}")

    def _execute(self, credentials: Credentials, statements, query: str | None = None):
        """Run `statements` in one transaction, then `query`; its single value (or None)."""
        connection = self._connect(credentials)
        try:
            with connection, connection.cursor() as cursor:
                for sql, args in statements:
                    cursor.execute(sql, args)
                if query is None:
                    return None
                cursor.execute(query)
                return cursor.fetchone()[0]
        finally:
            connection.close()

    def _connect(self, credentials: Credentials):
        host, port = _host_port(credentials.endpoints.split(",")[0].strip())
        params = {
            "host": host,
            "port": port,
            "dbname": credentials.database,
            "user": credentials.username,
            "password": credentials.password,
            "connect_timeout": CONNECT_TIMEOUT,
            "sslmode": "prefer",
        }
        if credentials.tls.strip().lower() == "true":
            params["sslmode"] = "require"
            if credentials.tls_ca:
                ca = Path(self.charm_dir, CA_FILE)
                ca.write_text(credentials.tls_ca)
                params["sslmode"] = "verify-ca"
                params["sslrootcert"] = str(ca)
        return psycopg2.connect(**params)


def _host_port(endpoint: str) -> tuple[str, int]:
    """`host:port` (IPv6 hosts in brackets); the port defaults to 5432."""
    if endpoint.startswith("["):
        host, _, rest = endpoint[1:].partition("]")
        port = rest.lstrip(":")
    elif endpoint.count(":") == 1:
        host, _, port = endpoint.partition(":")
    else:
        host, port = endpoint, ""
    if not host:
        raise ValueError(f"no host in endpoint {endpoint!r}")
    return host, int(port) if port else 5432


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


if __name__ == "__main__":
    ops.main(DbClientCharm)
