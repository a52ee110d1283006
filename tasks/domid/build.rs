//! Generates the domid interface (client, server trait, dispatch).

fn main() {
    if let Err(e) = idl_codegen::build(&["../../idl/domid.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
