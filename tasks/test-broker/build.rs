//! Generates the clients the runner calls: the broker (its operator), pci
//! (config space of the devices it owns) and iommu (read-only queries).

fn main() {
    let files = [
        "../../idl/broker.idl",
        "../../idl/pci.idl",
        "../../idl/iommu.idl",
    ];
    if let Err(e) = idl_codegen::build(&files, "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
