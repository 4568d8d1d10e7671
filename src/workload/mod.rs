//! The `postgresql` workload container: its name and the paths the charm uses inside it.

/// The workload container's name in metadata.yaml; its Pebble socket is
/// `<containers dir>/postgresql/pebble.socket`.
pub const CONTAINER: &str = "postgresql";

/// Where Juju mounts the workload containers' Pebble sockets inside the charm container.
pub const DEFAULT_CONTAINERS_DIR: &str = "/charm/containers";
