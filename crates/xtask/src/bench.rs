//! `cargo xtask bench`: not yet built.

pub fn run(_args: &[String]) -> crate::util::Result {
    Err("the benchmark is not built yet".to_string())
}
