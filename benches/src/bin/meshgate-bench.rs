//! The benchmark runner `cargo xtask bench` calls; see `meshgate_benches::runner`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(meshgate_benches::runner::main_with_args(&args));
}
