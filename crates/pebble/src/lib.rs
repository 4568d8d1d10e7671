//! pebble (placeholder)
