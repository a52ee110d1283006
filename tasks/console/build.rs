//! Generates the clients the console calls: broker, iommu, worker.

fn main() {
    let files = [
        "../../idl/broker.idl",
        "../../idl/iommu.idl",
        "../../idl/worker.idl",
    ];
    if let Err(e) = idl_codegen::build(&files, "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
