//! Generates the `Supervisor` interface (server side: dispatch, endpoint).

fn main() {
    if let Err(e) = idl_codegen::build(&["../../idl/supervisor.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
