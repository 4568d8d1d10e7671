//! SQL administration over tokio-postgres: roles, SCRAM verifiers, extensions, server facts.
