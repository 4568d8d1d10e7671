//! Integration tests of the Pebble client against a scripted fake Pebble served over a unix
//! socket (see `tests/common`), checking the bytes that cross the socket both ways.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod exec;
mod files;
