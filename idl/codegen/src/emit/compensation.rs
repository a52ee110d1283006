//! The `Compensation` enum: each compensable operation's undo, recorded as
//! data when the forward call succeeds and sent later if the transaction
//! must roll back.

use super::{call_lines, camel, error_type, is_unit, max_of, Writer};
use crate::ast::{Interface, Source};

pub(crate) fn emit(w: &mut Writer, iface: &Interface) {
    let compensable: Vec<_> = iface
        .ops
        .iter()
        .filter_map(|op| op.compensated_by.as_ref().map(|c| (op, c)))
        .collect();
    let undo_of = |name: &str| iface.ops.iter().find(|o| o.name == name);

    w.line("/// The undo of each compensable operation, as a message to send later:");
    w.line("/// a transaction journal is a list of these, postcard-encoded.");
    w.line("#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]");
    w.line("#[serde(crate = \"idl_runtime::serde\")]");
    w.open("pub enum Compensation {");
    for (op, comp) in &compensable {
        let doc = format!("/// Undoes `{}` with `{}`.", op.name, describe(comp));
        if w.indent * 4 + doc.len() <= 100 {
            w.line(&doc);
        } else {
            w.line(&format!("/// Undoes `{}` with", op.name));
            w.line(&format!("/// `{}`.", describe(comp)));
        }
        w.line(&format!("{}({}Args),", camel(&op.name), camel(&comp.op)));
    }
    w.close("}");
    w.line("");

    // The tag is one byte (fewer than 128 variants); the body is the largest
    // undo argument struct.
    w.open("impl MaxEncodedLen for Compensation {");
    let mut bodies: Vec<String> = Vec::new();
    for (_, comp) in &compensable {
        let body = max_of(&format!("{}Args", camel(&comp.op)));
        if !bodies.contains(&body) {
            bodies.push(body);
        }
    }
    w.open("const MAX_ENCODED_LEN: usize = 1 + idl_types::max_len_of(&[");
    for b in &bodies {
        w.line(&format!("{b},"));
    }
    w.close("]);");
    w.close("}");
    w.line("");

    w.line("#[allow(clippy::clone_on_copy)]");
    w.open("impl Compensation {");
    for (op, comp) in &compensable {
        let Some(undo) = undo_of(&comp.op) else {
            continue;
        };
        let uses_args = comp
            .bindings
            .iter()
            .any(|b| matches!(b.source, Source::Arg(_)));
        let uses_reply = comp
            .bindings
            .iter()
            .any(|b| matches!(b.source, Source::Reply(_)));
        let args = if uses_args { "args" } else { "_args" };
        let reply = if uses_reply { "reply" } else { "_reply" };
        w.line(&format!(
            "/// The undo of an `{}(args)` that replied `reply`.",
            op.name
        ));
        let head = format!(
            "pub fn for_{}({args}: &{}Args, {reply}: &{}) -> Compensation {{",
            op.name,
            camel(&op.name),
            op.reply.ty.rust()
        );
        if w.indent * 4 + head.len() <= 100 {
            w.open(&head);
        } else {
            w.open(&format!("pub fn for_{}(", op.name));
            w.line(&format!("{args}: &{}Args,", camel(&op.name)));
            w.line(&format!("{reply}: &{},", op.reply.ty.rust()));
            w.indent -= 1;
            w.open(") -> Compensation {");
        }
        w.open(&format!(
            "Compensation::{}({}Args {{",
            camel(&op.name),
            camel(&undo.name)
        ));
        for (p, _) in undo.args() {
            let Some(b) = comp.bindings.iter().find(|b| b.param == p.name) else {
                continue;
            };
            let value = match &b.source {
                Source::Arg(a) => format!("args.{a}.clone()"),
                Source::Reply(path) if path.is_empty() => "reply.clone()".to_string(),
                Source::Reply(path) => format!("reply.{}.clone()", path.join(".")),
            };
            w.line(&format!("{}: {value},", p.name));
        }
        w.close("})");
        w.close("}");
        w.line("");
    }
    let error = compensable
        .first()
        .and_then(|(_, comp)| undo_of(&comp.op))
        .map_or_else(|| "NoError".to_string(), error_type);
    w.line("/// Sends the undo through `client`. The undo's reply value is dropped:");
    w.line("/// an undo reports only whether it worked.");
    w.open("pub fn execute<T: Transport>(");
    w.line("&self,");
    w.line("client: &mut Client<T>,");
    w.indent -= 1;
    w.open(&format!(") -> Result<(), ClientError<{error}>> {{"));
    w.open("match self {");
    for (op, comp) in &compensable {
        let Some(undo) = undo_of(&comp.op) else {
            continue;
        };
        let args: Vec<String> = undo
            .args()
            .map(|(p, _)| format!("undo.{}.clone()", p.name))
            .collect();
        let tail = if is_unit(&undo.reply.ty) {
            ""
        } else {
            ".map(|_| ())"
        };
        let arm = format!("Compensation::{}(undo) => ", camel(&op.name));
        let call = format!("client.{}({}){tail}", undo.name, args.join(", "));
        if w.indent * 4 + arm.len() + call.len() < 100 {
            w.line(&format!("{arm}{call},"));
        } else {
            w.open(&format!("{arm}{{"));
            call_lines(w, &format!("client.{}", undo.name), &args, tail);
            w.close("}");
        }
    }
    w.close("}");
    w.close("}");
    w.close("}");
}

/// `release(unit = unit, entry = reply.previous)`.
fn describe(comp: &crate::ast::Compensation) -> String {
    let bindings: Vec<String> = comp
        .bindings
        .iter()
        .map(|b| {
            let source = match &b.source {
                Source::Arg(a) => a.clone(),
                Source::Reply(path) if path.is_empty() => "reply".to_string(),
                Source::Reply(path) => format!("reply.{}", path.join(".")),
            };
            format!("{} = {source}", b.param)
        })
        .collect();
    format!("{}({})", comp.op, bindings.join(", "))
}
