//! The IDL compiler: reads an `.idl` file (one interface) and generates the
//! Rust for its clients and servers.
//!
//! A task crate calls [`build`] from its `build.rs` and `include!`s the
//! result; see `idl/README.md` for the language and the generated API.
//! Compilation is lex → parse → check (names, types, each operation's
//! encoding and sizes against the kernel's 256-byte limit, compensations)
//! → emit (`quote!`, formatted by `prettyplease`); the first problem stops
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

use idl_types::wire::fingerprint;

/// An interface's tag, the upper 16 bits of its operation codes: a 32-bit
/// FNV-1a hash of its name and of each operation's number and encoding
/// fingerprint (`check::Sizes::fingerprint`: fixed or postcard, and the
/// layouts), folded to 16 bits, never 0 (raw, non-IDL protocols use small
/// codes, whose upper bits are 0). A client and a server built from
/// different encodings of any operation have different tags, so each
/// refuses the other's messages as unknown operations instead of misreading
/// them. Stable as long as the name and the encodings are.
pub fn interface_tag(name: &str, ops: impl IntoIterator<Item = (u32, u32)>) -> u16 {
    let mut hash = fingerprint::name(fingerprint::SEED, name);
    for (number, print) in ops {
        hash = fingerprint::word(fingerprint::word(hash, number), print);
    }
    let folded = ((hash >> 16) ^ (hash & 0xFFFF)) as u16;
    folded.max(1)
}

/// The tag of the interface in the `.idl` file at `idl_path` (see
/// [`interface_tag`]).
pub fn interface_id_of(idl_path: impl AsRef<Path>) -> Result<u16, Error> {
    let (file, source) = read(idl_path.as_ref())?;
    interface_id_of_source(&file, &source)
}

/// The tag of the interface in `.idl` text (see [`interface_tag`]).
pub fn interface_id_of_source(file: &str, source: &str) -> Result<u16, Error> {
    let (iface, sizes) = compile(file, source)?;
    Ok(tag_of(&iface, &sizes))
}

fn tag_of(iface: &ast::Interface, sizes: &[check::Sizes]) -> u16 {
    interface_tag(
        &iface.name,
        iface
            .ops
            .iter()
            .zip(sizes)
            .map(|(op, size)| (op.number, size.fingerprint)),
    )
}

fn read(path: &Path) -> Result<(String, String), Error> {
    let source = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok((path.display().to_string(), source))
}

fn compile(file: &str, source: &str) -> Result<(ast::Interface, Vec<check::Sizes>), Error> {
    let tokens = lexer::lex(file, source)?;
    let iface = parser::parse(file, &tokens)?;
    let sizes = check::check(file, &iface)?;
    Ok((iface, sizes))
}

/// Compiles the `.idl` file at `idl_path` into Rust source: one module named
/// after the interface (`interface Domid` → `pub mod domid`).
pub fn generate(idl_path: impl AsRef<Path>) -> Result<String, Error> {
    let (file, source) = read(idl_path.as_ref())?;
    generate_source(&file, &source)
}

/// Compiles `.idl` text; `file` names it in errors and in the generated
/// header (only its last component, so output does not depend on where the
/// checkout lives).
pub fn generate_source(file: &str, source: &str) -> Result<String, Error> {
    let (iface, sizes) = compile(file, source)?;
    let short = Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
    emit::emit(&short, &iface, &sizes, tag_of(&iface, &sizes))
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
