//! Generates the project's interfaces, the test-only `Kitchen` interface
//! that uses every kind of type, and two versions of `Compat` (the
//! wire-compatibility test), exactly as a task crate's build.rs would.

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
        (&["idl/compat_v1.idl"][..], "compat_v1.rs"),
        (&["idl/compat_v2.idl"][..], "compat_v2.rs"),
    ] {
        if let Err(e) = idl_codegen::build(files, out) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
