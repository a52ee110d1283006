//! Generates the server traits the simulator's stand-in peers implement.

fn main() {
    let interfaces = [
        "../idl/acpi.idl",
        "../idl/domid.idl",
        "../idl/iommu.idl",
        "../idl/pci.idl",
        "../idl/supervisor.idl",
    ];
    if let Err(e) = idl_codegen::build(&interfaces, "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
