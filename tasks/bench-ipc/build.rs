//! Generates the Bench interface's code.

fn main() {
    if let Err(e) = idl_codegen::build(&["../../idl/tests/idl/bench.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
