//! Per operation: its argument struct, its size bounds and its `OpSpec`.

use super::{camel, max_of, upper, Writer};
use crate::ast::{IntType, Operation, ParamKind, Type};
use crate::check::Sizes;

pub(crate) fn emit(w: &mut Writer, module: &str, op: &Operation, sizes: Sizes) {
    let name = camel(&op.name);
    let upper = upper(&op.name);
    let args = format!("{name}Args");
    let title = format!("// ---- {} {} ", op.number, op.name);
    w.line(&format!(
        "{title}{}",
        "-".repeat(76usize.saturating_sub(title.len()))
    ));
    w.line("");

    w.line(&format!("/// Arguments of [`Op::{name}`]."));
    w.line("#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]");
    w.line("#[serde(crate = \"idl_runtime::serde\")]");
    if op.args().next().is_none() {
        w.line(&format!("pub struct {args} {{}}"));
    } else {
        w.open(&format!("pub struct {args} {{"));
        for (p, t) in op.args() {
            if p.docs.is_empty() {
                w.line(&format!("/// Argument `{}`.", p.name));
            } else {
                w.docs(&p.docs);
            }
            w.line(&format!("pub {}: {},", p.name, t.ty.rust()));
        }
        w.close("}");
    }
    w.line("");
    w.open(&format!("impl MaxEncodedLen for {args} {{"));
    let terms: Vec<String> = op.args().map(|(_, t)| max_of(&t.ty.rust())).collect();
    if terms.is_empty() {
        w.line("const MAX_ENCODED_LEN: usize = 0;");
    } else {
        w.open("const MAX_ENCODED_LEN: usize =");
        let last = terms.len() - 1;
        for (i, term) in terms.iter().enumerate() {
            let lead = if i == 0 { "" } else { "+ " };
            let end = if i == last { ";" } else { "" };
            w.line(&format!("{lead}{term}{end}"));
        }
        w.indent -= 1;
    }
    w.close("}");
    w.line("");

    w.line(&format!(
        "/// The largest `{}` request: {} bytes.",
        op.name, sizes.request
    ));
    const_line(
        w,
        &format!("pub const {upper}_REQUEST_MAX: usize ="),
        &max_of(&args),
    );
    let reply_ty = op.reply.ty.rust();
    match &op.error {
        Some(e) => {
            w.line(&format!(
                "/// The largest `{}` reply (its value or its error): {} bytes.",
                op.name, sizes.reply
            ));
            w.open(&format!(
                "pub const {upper}_REPLY_MAX: usize = idl_types::max_len("
            ));
            w.line(&format!("{},", max_of(&reply_ty)));
            w.line(&format!("{},", max_of(&e.ty.rust())));
            w.close(");");
        }
        None => {
            w.line(&format!(
                "/// The largest `{}` reply: {} bytes.",
                op.name, sizes.reply
            ));
            const_line(
                w,
                &format!("pub const {upper}_REPLY_MAX: usize ="),
                &max_of(&reply_ty),
            );
        }
    }
    // An empty message cannot exceed the limit (and clippy rejects the
    // comparison `0 <= N`).
    for (part, size) in [("REQUEST", sizes.request), ("REPLY", sizes.reply)] {
        if size == 0 {
            continue;
        }
        w.open("const _: () = assert!(");
        w.line(&format!(
            "{upper}_{part}_MAX <= idl_runtime::abi::MAX_MESSAGE,"
        ));
        w.line(&format!(
            "\"{module}.{}: the {} can exceed the kernel's MAX_MESSAGE\"",
            op.name,
            part.to_ascii_lowercase()
        ));
        w.close(");");
    }
    w.line("");

    w.line(&format!(
        "/// What client and server know about `{}`.",
        op.name
    ));
    w.open(&format!("pub const {upper}: OpSpec = OpSpec {{"));
    w.line(&format!("op: Op::{name} as u32,"));
    w.line(&format!("idempotent: {},", op.idempotent));
    let callers: Vec<String> = op.callers.iter().map(|c| format!("{c:?}")).collect();
    w.line(&format!("callers: &[{}],", callers.join(", ")));
    let leases: Vec<String> = op
        .params
        .iter()
        .filter_map(|p| match p.kind {
            ParamKind::Lease { write, max_len } => Some(format!(
                "LeaseRule {{ write: {write}, max_len: {max_len} }}"
            )),
            ParamKind::Value(_) => None,
        })
        .collect();
    if leases.is_empty() {
        w.line("leases: &[],");
    } else {
        w.open("leases: &[");
        for l in &leases {
            w.line(&format!("{l},"));
        }
        w.close("],");
    }
    let request_min = request_min(op.args().map(|(_, t)| &t.ty));
    w.line(&format!("request_min: {request_min},"));
    w.line(&format!("request_max: {upper}_REQUEST_MAX,"));
    w.line(&format!("reply_max: {upper}_REPLY_MAX,"));
    w.close("};");
}

/// The bytes of `ty` if it is a fixed run of bytes every value of which is
/// valid (`()`, `u8`, `i8`, arrays of them): decoding it can fail only by
/// running out of message. `None` for anything else (a `bool` or an
/// `Option` tag can be invalid, a varint overlong, a type of `idl-types` is
/// not seen into).
pub(crate) fn plain_bytes(ty: &Type) -> Option<u64> {
    match ty {
        Type::Unit => Some(0),
        Type::Int(IntType::U8 | IntType::I8) => Some(1),
        Type::Array(t, n) => plain_bytes(t)?.checked_mul(*n),
        Type::Bool | Type::Int(_) | Type::Option(_) | Type::Named(_) => None,
    }
}

/// The `OpSpec::request_min` of arguments `args`: the length of their
/// leading plain-byte fields ([`plain_bytes`]). A shorter message ends
/// inside them, so the decoder could only report that it ended early, and
/// the server may say so without decoding.
pub(crate) fn request_min<'a>(args: impl Iterator<Item = &'a Type>) -> u64 {
    args.map_while(plain_bytes).fold(0, u64::saturating_add)
}

/// `decl expr;` on one line if it fits in 100 columns, else `expr` indented
/// on the next.
fn const_line(w: &mut Writer, decl: &str, expr: &str) {
    if w.indent * 4 + decl.len() + expr.len() + 2 <= 100 {
        w.line(&format!("{decl} {expr};"));
    } else {
        w.open(decl);
        w.line(&format!("{expr};"));
        w.indent -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{plain_bytes, request_min};
    use crate::ast::{IntType, Type};

    fn bytes(n: u64) -> Type {
        Type::Array(Box::new(Type::Int(IntType::U8)), n)
    }

    #[test]
    fn plain_bytes_are_bytes_and_arrays_of_them() {
        assert_eq!(plain_bytes(&Type::Unit), Some(0));
        assert_eq!(plain_bytes(&Type::Int(IntType::I8)), Some(1));
        assert_eq!(plain_bytes(&bytes(16)), Some(16));
        assert_eq!(plain_bytes(&Type::Array(Box::new(bytes(3)), 2)), Some(6));
    }

    #[test]
    fn types_with_invalid_encodings_are_not_plain_bytes() {
        for ty in [
            Type::Bool,
            Type::Int(IntType::U16),
            Type::Option(Box::new(Type::Int(IntType::U8))),
            Type::Named("Bdf".into()),
            Type::Array(Box::new(Type::Bool), 4),
        ] {
            assert_eq!(plain_bytes(&ty), None, "{ty:?}");
        }
    }

    #[test]
    fn request_min_stops_at_the_first_field_that_can_be_invalid() {
        let u8_ = Type::Int(IntType::U8);
        assert_eq!(request_min([&bytes(16)].into_iter()), 16);
        assert_eq!(request_min([&u8_, &bytes(4)].into_iter()), 5);
        // A short message could fail on the bool's contents first.
        assert_eq!(request_min([&u8_, &Type::Bool, &bytes(8)].into_iter()), 1);
        assert_eq!(request_min([&Type::Bool, &u8_].into_iter()), 0);
        assert_eq!(request_min(core::iter::empty()), 0);
    }
}
