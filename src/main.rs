//! The `berth` binary: one image, every role (registry, operator, tools).

fn main() {}
