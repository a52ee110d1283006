//! The parsed form of an `.idl` file.
//!
//! Positions are kept on everything a later check may complain about, so
//! every error points at the offending text.

use crate::error::Pos;

/// One interface: the whole file.
#[derive(Clone, Debug)]
pub struct Interface {
    /// `///` lines before `interface`.
    pub docs: Vec<String>,
    /// Its name, CamelCase.
    pub name: String,
    /// Where the name is.
    pub pos: Pos,
    /// Its operations, in file order.
    pub ops: Vec<Operation>,
}

/// One operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `///` lines before `op`.
    pub docs: Vec<String>,
    /// The stable operation number.
    pub number: u32,
    /// Its name, snake_case.
    pub name: String,
    /// Where `op` is.
    pub pos: Pos,
    /// Arguments and leases, in file order.
    pub params: Vec<Param>,
    /// What it returns on success.
    pub reply: TypeRef,
    /// Its error type, if it can fail.
    pub error: Option<TypeRef>,
    /// A retry after a server restart is harmless.
    pub idempotent: bool,
    /// Tasks allowed to call it; empty means any.
    pub callers: Vec<String>,
    /// The operation that undoes it.
    pub compensated_by: Option<Compensation>,
}

impl Operation {
    /// The typed arguments (not leases).
    pub fn args(&self) -> impl Iterator<Item = (&Param, &TypeRef)> {
        self.params.iter().filter_map(|p| match &p.kind {
            ParamKind::Value(t) => Some((p, t)),
            ParamKind::Lease { .. } => None,
        })
    }

    /// The leases, in order: (parameter, server writes it, max length).
    pub fn leases(&self) -> impl Iterator<Item = (&Param, bool, u64)> {
        self.params.iter().filter_map(|p| match p.kind {
            ParamKind::Lease { write, max_len } => Some((p, write, max_len)),
            ParamKind::Value(_) => None,
        })
    }
}

/// A parameter: a typed argument or a lease.
#[derive(Clone, Debug)]
pub struct Param {
    /// `///` lines before it.
    pub docs: Vec<String>,
    /// Its name.
    pub name: String,
    /// Where the name is.
    pub pos: Pos,
    /// What it is.
    pub kind: ParamKind,
}

/// What a parameter is.
#[derive(Clone, Debug)]
pub enum ParamKind {
    /// A value copied in the message.
    Value(TypeRef),
    /// A byte buffer lent by the client: `&[u8] max N` (server reads) or
    /// `&mut [u8] max N` (server writes).
    Lease {
        /// The server writes it.
        write: bool,
        /// Its largest length.
        max_len: u64,
    },
}

/// A type as written, with its position.
#[derive(Clone, Debug)]
pub struct TypeRef {
    /// The type.
    pub ty: Type,
    /// Where it starts.
    pub pos: Pos,
}

/// The types the IDL knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// `()`.
    Unit,
    /// `bool`.
    Bool,
    /// An integer.
    Int(IntType),
    /// `[T; N]`.
    Array(Box<Type>, u64),
    /// `Option<T>`.
    Option(Box<Type>),
    /// A type of `idl-types`, by name.
    Named(String),
}

/// The integer types, by their Rust names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IntType {
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
}

impl IntType {
    /// All of them with their Rust names.
    pub const ALL: [(IntType, &'static str); 8] = [
        (IntType::U8, "u8"),
        (IntType::U16, "u16"),
        (IntType::U32, "u32"),
        (IntType::U64, "u64"),
        (IntType::I8, "i8"),
        (IntType::I16, "i16"),
        (IntType::I32, "i32"),
        (IntType::I64, "i64"),
    ];

    /// The Rust name.
    pub fn rust_name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("u8", |(_, n)| n)
    }

    /// Width in bits.
    pub fn bits(self) -> u32 {
        match self {
            IntType::U8 | IntType::I8 => 8,
            IntType::U16 | IntType::I16 => 16,
            IntType::U32 | IntType::I32 => 32,
            IntType::U64 | IntType::I64 => 64,
        }
    }
}

impl Type {
    /// The Rust spelling.
    pub fn rust(&self) -> String {
        match self {
            Type::Unit => "()".to_string(),
            Type::Bool => "bool".to_string(),
            Type::Int(i) => i.rust_name().to_string(),
            Type::Array(t, n) => format!("[{}; {n}]", t.rust()),
            Type::Option(t) => format!("Option<{}>", t.rust()),
            Type::Named(n) => n.clone(),
        }
    }

    /// Every named type inside, in order.
    pub fn named(&self, out: &mut Vec<String>) {
        match self {
            Type::Array(t, _) | Type::Option(t) => t.named(out),
            Type::Named(n) => out.push(n.clone()),
            Type::Unit | Type::Bool | Type::Int(_) => {}
        }
    }
}

/// `compensated_by = OP(param = source, ...)`.
#[derive(Clone, Debug)]
pub struct Compensation {
    /// The undo operation's name.
    pub op: String,
    /// Where that name is.
    pub pos: Pos,
    /// Each undo argument and where its value comes from.
    pub bindings: Vec<Binding>,
}

/// One `param = source` of a compensation.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The undo operation's argument.
    pub param: String,
    /// Where it is.
    pub pos: Pos,
    /// Where its value comes from.
    pub source: Source,
}

/// Where a compensation argument's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// An argument of the forward call.
    Arg(String),
    /// The forward call's reply, or a field path inside it (`reply.a.b`).
    Reply(Vec<String>),
}
