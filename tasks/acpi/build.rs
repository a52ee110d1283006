//! Generates the acpi interface (client, server trait, dispatch) for the
//! library, and the pci client the task binary resolves scopes through
//! (a separate file, so the library's `pci` stays the pci crate).

fn main() {
    for (idl, out) in [
        ("../../idl/acpi.idl", "idl.rs"),
        ("../../idl/pci.idl", "pci_client.rs"),
    ] {
        if let Err(e) = idl_codegen::build(&[idl], out) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
