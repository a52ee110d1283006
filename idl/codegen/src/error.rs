//! Everything the IDL compiler can reject, each with the place it happened.
//!
//! Messages read `file:line:column: what`, the form editors and terminals
//! turn into links.

use std::fmt;

/// A position in an `.idl` file, 1-based.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Pos {
    /// Line.
    pub line: u32,
    /// Column, in characters.
    pub column: u32,
}

/// Why an `.idl` file could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The file could not be read or the output written.
    Io {
        /// The file.
        path: String,
        /// The operating system's words.
        message: String,
    },
    /// The text does not follow the grammar.
    Syntax {
        /// The file.
        file: String,
        /// Where.
        pos: Pos,
        /// What the grammar wanted there.
        expected: String,
        /// What was there.
        found: String,
    },
    /// The text parses but means something impossible (unknown type,
    /// duplicate operation number, bad compensation, ...).
    Invalid {
        /// The file.
        file: String,
        /// Where.
        pos: Pos,
        /// What is wrong.
        message: String,
    },
    /// An operation's largest message exceeds the kernel's limit.
    TooLarge {
        /// The file.
        file: String,
        /// Where the operation is declared.
        pos: Pos,
        /// The operation.
        op: String,
        /// "request" or "reply".
        part: &'static str,
        /// Its largest size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The generator produced Rust that does not parse: a bug of the
    /// generator, reported rather than written out.
    Generated {
        /// The interface.
        interface: String,
        /// What the Rust parser said.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::Syntax {
                file,
                pos,
                expected,
                found,
            } => write!(
                f,
                "{file}:{}:{}: expected {expected}, found {found}",
                pos.line, pos.column
            ),
            Error::Invalid { file, pos, message } => {
                write!(f, "{file}:{}:{}: {message}", pos.line, pos.column)
            }
            Error::TooLarge {
                file,
                pos,
                op,
                part,
                size,
                limit,
            } => write!(
                f,
                "{file}:{}:{}: operation `{op}`: its {part} can take {size} bytes, \
                 more than the kernel's MAX_MESSAGE of {limit}",
                pos.line, pos.column
            ),
            Error::Generated { interface, message } => write!(
                f,
                "idl-codegen generated unparsable Rust for interface {interface} (a bug): {message}"
            ),
        }
    }
}

impl std::error::Error for Error {}
