//! Generates the Counter interface's code from idl/tests/idl/counter.idl.

fn main() {
    if let Err(e) = idl_codegen::build(&["../../idl/tests/idl/counter.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
