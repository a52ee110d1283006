//! Generates the supervisor's server trait, for the simulator's one
//! stand-in (the real supervisor answers raw IPC, not this interface).

fn main() {
    if let Err(e) = idl_codegen::build(&["../idl/supervisor.idl"], "idl.rs") {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
