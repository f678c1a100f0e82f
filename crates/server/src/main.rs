//! The `vanthu` command.

fn main() {}
