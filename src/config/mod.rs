//! Typed, validated charm config and its mapping to PostgreSQL and Patroni settings.
