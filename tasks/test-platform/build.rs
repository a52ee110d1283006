//! Generates the clients of the three interfaces under test.

fn main() {
    let idl = [
        "../../idl/acpi.idl",
        "../../idl/pci.idl",
        "../../idl/domid.idl",
    ];
    if let Err(e) = idl_codegen::build(&idl, "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
