//! Generates the Bench and BenchStruct interfaces' code.

fn main() {
    if let Err(e) = idl_codegen::build(
        &[
            "../../idl/tests/idl/bench.idl",
            "../../idl/tests/idl/bench_struct.idl",
        ],
        "idl.rs",
    ) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
