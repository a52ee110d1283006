//! The meaning checks an `.idl` file must pass before code is generated,
//! and each operation's largest request and reply.
//!
//! Each operation gets an encoding: its fixed layouts when every argument,
//! the reply and the error have one (`idl_types::wire`; named types say so
//! in `idl_types::registry`), postcard otherwise. Fixed sizes are exact;
//! postcard sizes are its worst case, by the same rules as
//! `idl_types::MaxEncodedLen`. An operation that can exceed the kernel's
//! 256-byte message is refused here, naming it; the generated code repeats
//! the check as a compile-time assertion. Each operation's encoding is
//! fingerprinted for the interface's tag ([`crate::interface_tag`]).

use std::collections::HashSet;

use idl_types::wire::{fingerprint, Fixed};

use crate::ast::*;
use crate::error::{Error, Pos};

/// The kernel's message limit (`abi::MAX_MESSAGE`).
pub const MAX_MESSAGE: usize = 256;
/// The largest operation number: a code's upper 16 bits are the interface's.
pub const MAX_OP_NUMBER: u32 = 0xFFFF;
/// Leases per message (`abi::MAX_LEASES`).
pub const MAX_LEASES: usize = 4;
/// The longest fixed array serde can encode.
pub const MAX_SERDE_ARRAY: u64 = 32;
/// The caller groups a `callers` list may name as `"@group"`: app.toml
/// says who is in each (`operator = true`, `fault-injection = true`) and
/// xtask hands the members to the server's transport.
pub const CALLER_GROUPS: &[&str] = &["operators", "fault-injectors"];

/// Names an argument may not have: the generated code uses them.
const RESERVED: &[&str] = &[
    "args",
    "request",
    "reply",
    "caller",
    "server",
    "call",
    "ctx",
    "admitted",
    "result",
    "self",
    "transport",
    "spec",
];
/// Rust keywords that could look like names here.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
    "async", "await", "dyn", "box", "yield", "Self",
];

/// How an operation's messages travel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Every argument, the reply and the error in their fixed layouts.
    Fixed,
    /// postcard: some part has variable length.
    Postcard,
}

/// One operation's encoding and the sizes of its messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// How its messages travel.
    pub encoding: Encoding,
    /// The request (all arguments): exact when fixed (the layout padded to
    /// whole words), else the largest.
    pub request: usize,
    /// The reply: the larger of the value and the error.
    pub reply: usize,
    /// Fixed only: the bytes of the arguments' layout and of the larger of
    /// the reply's and the error's (before padding).
    pub layouts: (usize, usize),
    /// A fingerprint of the encoding (kind, argument names and layouts,
    /// reply and error layouts).
    pub fingerprint: u32,
}

/// A type's fixed layout (size, fingerprint), if it has one.
pub fn fixed_layout(ty: &Type) -> Option<(usize, u32)> {
    Some(match ty {
        Type::Unit => (0, <() as Fixed>::LAYOUT),
        Type::Bool => (1, <bool as Fixed>::LAYOUT),
        Type::Int(i) => (
            i.bits() as usize / 8,
            match i {
                IntType::U8 => <u8 as Fixed>::LAYOUT,
                IntType::U16 => <u16 as Fixed>::LAYOUT,
                IntType::U32 => <u32 as Fixed>::LAYOUT,
                IntType::U64 => <u64 as Fixed>::LAYOUT,
                IntType::I8 => <i8 as Fixed>::LAYOUT,
                IntType::I16 => <i16 as Fixed>::LAYOUT,
                IntType::I32 => <i32 as Fixed>::LAYOUT,
                IntType::I64 => <i64 as Fixed>::LAYOUT,
            },
        ),
        Type::Option(t) => {
            let (size, print) = fixed_layout(t)?;
            (1 + size, fingerprint::option(print))
        }
        Type::Array(t, n) => {
            let (size, print) = fixed_layout(t)?;
            let n = usize::try_from(*n).ok()?;
            (size.checked_mul(n)?, fingerprint::array(print, n))
        }
        Type::Named(name) => {
            let layout = idl_types::registry::fixed_layout_of(name)?;
            (layout.size, layout.fingerprint)
        }
    })
}

struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn invalid<T>(&self, pos: Pos, message: String) -> Result<T, Error> {
        Err(Error::Invalid {
            file: self.file.to_string(),
            pos,
            message,
        })
    }

    fn max_len(&self, ty: &Type, pos: Pos) -> Result<usize, Error> {
        Ok(match ty {
            Type::Unit => 0,
            Type::Bool => 1,
            // Bytes go as they are; wider integers are varints.
            Type::Int(i) if i.bits() == 8 => 1,
            Type::Int(i) => i.bits().div_ceil(7) as usize,
            Type::Option(t) => 1 + self.max_len(t, pos)?,
            Type::Array(t, n) => {
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                self.max_len(t, pos)?.saturating_mul(n)
            }
            Type::Named(name) => match idl_types::registry::max_encoded_len_of(name) {
                Some(len) => len,
                None => {
                    return self.invalid(
                        pos,
                        format!("unknown type `{name}`: not a built-in type nor one of idl-types"),
                    )
                }
            },
        })
    }

    fn serde_arrays(&self, ty: &Type, pos: Pos, op: &str) -> Result<(), Error> {
        match ty {
            Type::Array(t, n) if *n > MAX_SERDE_ARRAY => self.invalid(
                pos,
                format!(
                    "operation `{op}`: array of {n} elements; serde encodes at most \
                     {MAX_SERDE_ARRAY} (use a lease for bulk bytes)"
                ),
            ),
            Type::Array(t, _) | Type::Option(t) => self.serde_arrays(t, pos, op),
            _ => Ok(()),
        }
    }

    fn name(&self, name: &str, pos: Pos, what: &str) -> Result<(), Error> {
        let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake {
            return self.invalid(pos, format!("{what} `{name}` must be snake_case"));
        }
        if KEYWORDS.contains(&name) {
            return self.invalid(pos, format!("{what} `{name}` is a Rust keyword"));
        }
        Ok(())
    }
}

/// Checks `iface` and returns each operation's sizes, in file order.
pub fn check(file: &str, iface: &Interface) -> Result<Vec<Sizes>, Error> {
    let c = Checker { file };
    let camel = iface.name.starts_with(|c: char| c.is_ascii_uppercase())
        && iface.name.chars().all(|c| c.is_ascii_alphanumeric());
    if !camel {
        return c.invalid(
            iface.pos,
            format!("interface name `{}` must be CamelCase", iface.name),
        );
    }
    if iface.ops.is_empty() {
        return c.invalid(
            iface.pos,
            format!("interface `{}` has no operations", iface.name),
        );
    }
    let mut names = HashSet::new();
    let mut numbers = HashSet::new();
    let mut sizes = Vec::new();
    for op in &iface.ops {
        c.name(&op.name, op.pos, "operation name")?;
        if !names.insert(op.name.as_str()) {
            return c.invalid(op.pos, format!("operation `{}` declared twice", op.name));
        }
        if op.number == 0 {
            return c.invalid(
                op.pos,
                format!("operation `{}`: numbers start at 1", op.name),
            );
        }
        if op.number > MAX_OP_NUMBER {
            return c.invalid(
                op.pos,
                format!(
                    "operation `{}`: number {} is above {MAX_OP_NUMBER} (the upper 16 bits of a code name the interface)",
                    op.name, op.number
                ),
            );
        }
        if !numbers.insert(op.number) {
            return c.invalid(
                op.pos,
                format!(
                    "operation `{}`: number {} is already used",
                    op.name, op.number
                ),
            );
        }
        sizes.push(check_op(&c, op)?);
    }
    let mut undo_error: Option<(&Option<TypeRef>, &str)> = None;
    for op in &iface.ops {
        if let Some(comp) = &op.compensated_by {
            let undo = check_compensation(&c, iface, op, comp)?;
            let same = |a: &Option<TypeRef>, b: &Option<TypeRef>| {
                a.as_ref().map(|t| &t.ty) == b.as_ref().map(|t| &t.ty)
            };
            match undo_error {
                Some((error, first)) if !same(error, &undo.error) => {
                    return c.invalid(
                        comp.pos,
                        format!(
                            "undo operation `{}` has a different error type than `{first}`; \
                             all undo operations of an interface must share one",
                            undo.name
                        ),
                    )
                }
                Some(_) => {}
                None => undo_error = Some((&undo.error, undo.name.as_str())),
            }
        }
    }
    Ok(sizes)
}

fn check_op(c: &Checker<'_>, op: &Operation) -> Result<Sizes, Error> {
    let mut params = HashSet::new();
    let mut request = 0usize;
    let mut fixed_request = Some(0usize);
    for p in &op.params {
        c.name(&p.name, p.pos, "parameter")?;
        if RESERVED.contains(&p.name.as_str()) {
            return c.invalid(
                p.pos,
                format!(
                    "parameter name `{}` is reserved for the generated code",
                    p.name
                ),
            );
        }
        if !params.insert(p.name.as_str()) {
            return c.invalid(p.pos, format!("parameter `{}` declared twice", p.name));
        }
        match &p.kind {
            ParamKind::Value(t) => {
                request = request.saturating_add(c.max_len(&t.ty, t.pos)?);
                fixed_request = fixed_request
                    .zip(fixed_layout(&t.ty))
                    .map(|(sum, (size, _))| sum.saturating_add(size));
            }
            ParamKind::Lease { max_len, .. } => {
                if *max_len == 0 || *max_len > u64::from(u32::MAX) {
                    return c.invalid(
                        p.pos,
                        format!("lease `{}`: max must be between 1 and 2^32-1", p.name),
                    );
                }
            }
        }
    }
    if op.leases().count() > MAX_LEASES {
        return c.invalid(
            op.pos,
            format!("operation `{}` has more than {MAX_LEASES} leases", op.name),
        );
    }
    let mut reply = c.max_len(&op.reply.ty, op.reply.pos)?;
    let mut fixed_reply = fixed_layout(&op.reply.ty).map(|(size, _)| size);
    if let Some(error) = &op.error {
        if !matches!(error.ty, Type::Named(_)) {
            return c.invalid(
                error.pos,
                format!(
                    "operation `{}`: the error must be a named enum of idl-types",
                    op.name
                ),
            );
        }
        reply = reply.max(c.max_len(&error.ty, error.pos)?);
        fixed_reply = fixed_reply
            .zip(fixed_layout(&error.ty))
            .map(|(value, (size, _))| value.max(size));
    }
    let (encoding, request, reply, layouts) = match (fixed_request, fixed_reply) {
        (Some(request), Some(reply)) => (
            Encoding::Fixed,
            idl_types::wire::message_len(request),
            idl_types::wire::message_len(reply),
            (request, reply),
        ),
        _ => (Encoding::Postcard, request, reply, (0, 0)),
    };
    for (part, size) in [("request", request), ("reply", reply)] {
        if size > MAX_MESSAGE {
            return Err(Error::TooLarge {
                file: c.file.to_string(),
                pos: op.pos,
                op: op.name.clone(),
                part,
                size,
                limit: MAX_MESSAGE,
            });
        }
    }
    for (_, t) in op.args() {
        c.serde_arrays(&t.ty, t.pos, &op.name)?;
    }
    c.serde_arrays(&op.reply.ty, op.reply.pos, &op.name)?;
    let mut callers = HashSet::new();
    for caller in &op.callers {
        if let Some(group) = caller.strip_prefix('@') {
            if !CALLER_GROUPS.contains(&group) {
                return c.invalid(
                    op.pos,
                    format!(
                        "operation `{}`: no caller group `@{group}` (groups: {})",
                        op.name,
                        CALLER_GROUPS
                            .iter()
                            .map(|g| format!("@{g}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
        if caller.is_empty() || !callers.insert(caller.as_str()) {
            return c.invalid(
                op.pos,
                format!(
                    "operation `{}`: caller `{caller}` is empty or listed twice",
                    op.name
                ),
            );
        }
    }
    Ok(Sizes {
        encoding,
        request,
        reply,
        layouts,
        fingerprint: op_fingerprint(op, encoding),
    })
}

/// The fingerprint of an operation's encoding: its kind, then the request
/// as a struct of the arguments, the reply and the error. A fixed
/// operation's types count by layout; a postcard operation's by their Rust
/// names and largest sizes (postcard has no layout to fingerprint).
fn op_fingerprint(op: &Operation, encoding: Encoding) -> u32 {
    let of = |ty: &Type| match (encoding, fixed_layout(ty)) {
        (Encoding::Fixed, Some((_, print))) => print,
        _ => fingerprint::name(fingerprint::scalar("postcard"), &ty.rust()),
    };
    let kind = match encoding {
        Encoding::Fixed => "fixed",
        Encoding::Postcard => "postcard",
    };
    let args: Vec<(&str, u32)> = op
        .params
        .iter()
        .map(|p| match &p.kind {
            ParamKind::Value(t) => (p.name.as_str(), of(&t.ty)),
            ParamKind::Lease { write, max_len } => (
                p.name.as_str(),
                fingerprint::word(
                    fingerprint::scalar(if *write { "write lease" } else { "read lease" }),
                    u32::try_from(*max_len).unwrap_or(u32::MAX),
                ),
            ),
        })
        .collect();
    let error = op
        .error
        .as_ref()
        .map_or(fingerprint::scalar("no error"), |e| of(&e.ty));
    let mut print = fingerprint::scalar(kind);
    print = fingerprint::word(print, fingerprint::of_struct("request", &args));
    print = fingerprint::word(print, of(&op.reply.ty));
    fingerprint::word(print, error)
}

fn check_compensation<'i>(
    c: &Checker<'_>,
    iface: &'i Interface,
    op: &Operation,
    comp: &Compensation,
) -> Result<&'i Operation, Error> {
    let Some(undo) = iface.ops.iter().find(|o| o.name == comp.op) else {
        return c.invalid(
            comp.pos,
            format!(
                "`{}` undoes `{}`, which this interface does not have",
                comp.op, op.name
            ),
        );
    };
    if undo.leases().count() > 0 {
        return c.invalid(
            comp.pos,
            format!(
                "`{}` takes leases, so it cannot be recorded as an undo",
                undo.name
            ),
        );
    }
    let mut bound = HashSet::new();
    for b in &comp.bindings {
        let Some((_, target)) = undo.args().find(|(p, _)| p.name == b.param) else {
            return c.invalid(
                b.pos,
                format!("`{}` has no argument `{}`", undo.name, b.param),
            );
        };
        if !bound.insert(b.param.as_str()) {
            return c.invalid(b.pos, format!("argument `{}` bound twice", b.param));
        }
        match &b.source {
            Source::Arg(name) => {
                let Some((_, ty)) = op.args().find(|(p, _)| p.name == *name) else {
                    return c.invalid(
                        b.pos,
                        format!(
                            "`{}` has no argument `{name}` (leases cannot be recorded)",
                            op.name
                        ),
                    );
                };
                if ty.ty != target.ty {
                    return c.invalid(
                        b.pos,
                        format!(
                            "`{}` is {} but `{}.{}` wants {}",
                            name,
                            ty.ty.rust(),
                            undo.name,
                            b.param,
                            target.ty.rust()
                        ),
                    );
                }
            }
            Source::Reply(path) if path.is_empty() => {
                if op.reply.ty != target.ty {
                    return c.invalid(
                        b.pos,
                        format!(
                            "the reply of `{}` is {} but `{}.{}` wants {}",
                            op.name,
                            op.reply.ty.rust(),
                            undo.name,
                            b.param,
                            target.ty.rust()
                        ),
                    );
                }
            }
            Source::Reply(_) => {
                if !matches!(op.reply.ty, Type::Named(_)) {
                    return c.invalid(b.pos, format!("the reply of `{}` has no fields", op.name));
                }
            }
        }
    }
    if let Some((missing, _)) = undo.args().find(|(p, _)| !bound.contains(p.name.as_str())) {
        return c.invalid(
            comp.pos,
            format!(
                "the undo `{}` needs a value for `{}`",
                undo.name, missing.name
            ),
        );
    }
    Ok(undo)
}
