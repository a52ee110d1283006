//! Generates the clients of the broker's peers (acpi, domid, iommu, pci,
//! supervisor) and its own server face (broker).

fn main() {
    let interfaces = [
        "../../idl/acpi.idl",
        "../../idl/broker.idl",
        "../../idl/domid.idl",
        "../../idl/iommu.idl",
        "../../idl/pci.idl",
        "../../idl/supervisor.idl",
    ];
    if let Err(e) = idl_codegen::build(&interfaces, "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
