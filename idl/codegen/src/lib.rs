//! The IDL compiler: reads an `.idl` file (one interface) and generates the
//! Rust for its clients and servers.
//!
//! A task crate calls [`build`] from its `build.rs` and `include!`s the
//! result; see `idl/README.md` for the language and the generated API.
//! Compilation is lex → parse → check (names, types, sizes against the
//! kernel's 256-byte limit, compensations) → emit; the first problem stops
//! it with a `file:line:column` message.

mod ast;
mod check;
mod emit;
mod error;
mod lexer;
mod parser;

use std::path::{Path, PathBuf};

pub use check::{MAX_MESSAGE, MAX_OP_NUMBER};
pub use error::{Error, Pos};

/// FNV-1a offset basis and prime (32-bit).
const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// An interface's tag, the upper 16 bits of its operation codes: the 32-bit
/// FNV-1a hash of its name folded to 16 bits, never 0 (raw, non-IDL
/// protocols such as the supervisor's use small codes, whose upper bits are
/// 0). Stable as long as the name is.
pub fn interface_id(name: &str) -> u16 {
    let hash = name.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(FNV_PRIME)
    });
    let folded = ((hash >> 16) ^ (hash & 0xFFFF)) as u16;
    folded.max(1)
}

/// Compiles the `.idl` file at `idl_path` into Rust source: one module named
/// after the interface (`interface Domid` → `pub mod domid`).
pub fn generate(idl_path: impl AsRef<Path>) -> Result<String, Error> {
    let path = idl_path.as_ref();
    let source = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    generate_source(&path.display().to_string(), &source)
}

/// Compiles `.idl` text; `file` names it in errors and in the generated
/// header (only its last component, so output does not depend on where the
/// checkout lives).
pub fn generate_source(file: &str, source: &str) -> Result<String, Error> {
    let tokens = lexer::lex(file, source)?;
    let iface = parser::parse(file, &tokens)?;
    let sizes = check::check(file, &iface)?;
    let short = Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
    Ok(emit::emit(&short, &iface, &sizes))
}

/// For `build.rs`: compiles each file into one Rust file `out_file` (relative
/// paths land in `$OUT_DIR`) and tells cargo to rerun when any changes.
/// Include the result with
/// `include!(concat!(env!("OUT_DIR"), "/<out_file>"));`.
pub fn build(idl_files: &[&str], out_file: &str) -> Result<PathBuf, Error> {
    let mut out = String::new();
    for file in idl_files {
        println!("cargo:rerun-if-changed={file}");
        out.push_str(&generate(file)?);
        out.push('\n');
    }
    let target = match std::env::var_os("OUT_DIR") {
        Some(dir) if Path::new(out_file).is_relative() => PathBuf::from(dir).join(out_file),
        _ => PathBuf::from(out_file),
    };
    std::fs::write(&target, out).map_err(|e| Error::Io {
        path: target.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(target)
}
