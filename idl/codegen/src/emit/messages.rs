//! Per operation: its argument struct, its size bounds and its `OpSpec`.

use super::{camel, max_of, upper, Writer};
use crate::ast::{Operation, ParamKind, Type};
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

/// The fewest bytes a value of `ty` encodes to, and how many leading bytes
/// of any input its decoder cannot find invalid (`usize::MAX`: only running
/// out can fail), as `idl_types::MaxEncodedLen` states them. A type of
/// `idl-types` missing from the registry (already an error in `check`) is
/// `(0, 0)`, which promises nothing.
pub(crate) fn shortest(ty: &Type) -> (usize, usize) {
    match ty {
        Type::Unit => (0, usize::MAX),
        Type::Bool => (1, 0),
        // Bytes go as they are; wider integers are varints whose last
        // possible byte alone can be invalid.
        Type::Int(i) if i.bits() == 8 => (1, usize::MAX),
        Type::Int(i) => (1, i.bits().div_ceil(7) as usize - 1),
        Type::Option(_) => (1, 0),
        Type::Array(_, 0) => (0, usize::MAX),
        Type::Array(t, n) => {
            let (min, unchecked) = shortest(t);
            let n = usize::try_from(*n).unwrap_or(usize::MAX);
            (min.saturating_mul(n), unchecked)
        }
        Type::Named(name) => idl_types::registry::shortest_of(name).unwrap_or((0, 0)),
    }
}

/// The `OpSpec::request_min` of arguments `args`: a shorter message ends
/// before a whole request and inside the leading bytes no decoder can find
/// invalid, so decoding it could only report that it ended early, and the
/// server may say so without decoding (`idl_types::request_min`).
pub(crate) fn request_min<'a>(args: impl Iterator<Item = &'a Type>) -> usize {
    let (min, unchecked) = args.map(shortest).fold(
        (0usize, usize::MAX),
        |(min, unchecked), (field_min, field_unchecked)| {
            (
                min.saturating_add(field_min),
                idl_types::unchecked_then(min, unchecked, field_unchecked),
            )
        },
    );
    idl_types::request_min(min, unchecked)
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
    use super::{request_min, shortest};
    use crate::ast::{IntType, Type};

    fn bytes(n: u64) -> Type {
        Type::Array(Box::new(Type::Int(IntType::U8)), n)
    }

    #[test]
    fn bytes_and_arrays_of_them_have_nothing_to_check() {
        assert_eq!(shortest(&Type::Unit), (0, usize::MAX));
        assert_eq!(shortest(&Type::Int(IntType::I8)), (1, usize::MAX));
        assert_eq!(shortest(&bytes(16)), (16, usize::MAX));
        assert_eq!(
            shortest(&Type::Array(Box::new(bytes(3)), 2)),
            (6, usize::MAX)
        );
    }

    #[test]
    fn varints_are_checked_only_at_their_last_possible_byte() {
        assert_eq!(shortest(&Type::Int(IntType::U16)), (1, 2));
        assert_eq!(shortest(&Type::Int(IntType::I32)), (1, 4));
        assert_eq!(shortest(&Type::Int(IntType::U64)), (1, 9));
    }

    #[test]
    fn tags_and_bools_are_checked_at_once() {
        assert_eq!(shortest(&Type::Bool), (1, 0));
        assert_eq!(
            shortest(&Type::Option(Box::new(Type::Int(IntType::U8)))),
            (1, 0)
        );
        assert_eq!(shortest(&Type::Array(Box::new(Type::Bool), 4)), (4, 0));
    }

    #[test]
    fn named_types_come_from_idl_types() {
        // Bdf: three bytes; DomainId: a u16 varint; ContextState: an enum.
        assert_eq!(shortest(&Type::Named("Bdf".into())), (3, usize::MAX));
        assert_eq!(shortest(&Type::Named("DomainId".into())), (1, 2));
        assert_eq!(shortest(&Type::Named("ContextState".into())), (1, 0));
        assert_eq!(shortest(&Type::Named("Nonexistent".into())), (0, 0));
    }

    #[test]
    fn request_min_is_the_whole_minimum_unless_a_check_comes_first() {
        let u8_ = Type::Int(IntType::U8);
        let u16_ = Type::Int(IntType::U16);
        assert_eq!(request_min([&bytes(16)].into_iter()), 16);
        assert_eq!(request_min([&u8_, &bytes(4)].into_iter()), 5);
        // A message of two bytes ends at the bool, one byte before it could
        // be found invalid.
        assert_eq!(request_min([&u8_, &Type::Bool, &bytes(8)].into_iter()), 2);
        assert_eq!(request_min([&Type::Bool, &u8_].into_iter()), 1);
        // Two one-byte varints: three checks away, two bytes needed.
        assert_eq!(request_min([&u16_, &u16_].into_iter()), 2);
        // Bdf, then a DomainId: a whole request can be 4 bytes (a check
        // could come only at byte 6).
        let bdf = Type::Named("Bdf".into());
        let dom = Type::Named("DomainId".into());
        assert_eq!(request_min([&bdf, &dom].into_iter()), 4);
        assert_eq!(request_min(core::iter::empty()), 0);
    }
}
