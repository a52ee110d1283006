//! Prints the Rust generated for one `.idl` file, or its error:
//! `cargo run -p idl-codegen --example idlc -- idl/domid.idl`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: idlc FILE.idl");
        std::process::exit(2);
    };
    match idl_codegen::generate(&path) {
        Ok(code) => print!("{code}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
