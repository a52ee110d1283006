//! Generates the project's interfaces, and the test-only `Kitchen` interface
//! that uses every kind of type, exactly as a task crate's build.rs would.

fn main() {
    let interfaces = [
        "../acpi.idl",
        "../broker.idl",
        "../domid.idl",
        "../iommu.idl",
        "../pci.idl",
        "../supervisor.idl",
    ];
    for (files, out) in [
        (&interfaces[..], "interfaces.rs"),
        (&["idl/kitchen.idl"][..], "kitchen.rs"),
    ] {
        if let Err(e) = idl_codegen::build(files, out) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
