//! lab (placeholder)
