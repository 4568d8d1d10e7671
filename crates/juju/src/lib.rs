//! juju (placeholder)
