//! `cargo xtask sim` runs this: the simulator's command line.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(sim::cli(&args));
}
