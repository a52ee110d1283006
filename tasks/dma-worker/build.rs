//! Generates the Worker interface (served) and the Broker and Pci
//! interfaces (called).

fn main() {
    let files = [
        "../../idl/worker.idl",
        "../../idl/broker.idl",
        "../../idl/pci.idl",
    ];
    if let Err(e) = idl_codegen::build(&files, "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
