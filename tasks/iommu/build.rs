//! Generates the iommu interface (client, server trait, dispatch).

fn main() {
    if let Err(e) = idl_codegen::build(&["../../idl/iommu.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
