//! Generates the pci interface (client, server trait, dispatch).

fn main() {
    if let Err(e) = idl_codegen::build(&["../../idl/pci.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
