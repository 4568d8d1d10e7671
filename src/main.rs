//! charm
fn main() {}
