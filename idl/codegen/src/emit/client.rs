//! The client struct: one typed method per operation.

use super::{camel, error_type, op_docs, upper, Writer};
use crate::ast::{Interface, ParamKind};

pub(crate) fn emit(w: &mut Writer, iface: &Interface) {
    w.line(&format!(
        "/// A client of `{}`: one method per operation. It holds the server's",
        iface.name
    ));
    w.line("/// task ID and follows the server's restarts (see `ClientError`).");
    w.open("pub struct Client<T: Transport> {");
    w.line("transport: T,");
    w.line("server: TaskId,");
    w.close("}");
    w.line("");
    w.open("impl<T: Transport> Client<T> {");
    w.line("/// A client that reaches `server` through `transport`.");
    w.open("pub fn new(transport: T, server: TaskId) -> Self {");
    w.line("Client { transport, server }");
    w.close("}");
    w.line("");
    w.line("/// The server's task ID, at the generation last heard of.");
    w.open("pub fn server(&self) -> TaskId {");
    w.line("self.server");
    w.close("}");

    for op in &iface.ops {
        let name = camel(&op.name);
        let upper = upper(&op.name);
        w.line("");
        op_docs(w, op);
        w.line("///");
        let mut facts = Vec::new();
        if op.idempotent {
            facts.push("Idempotent: retried once if the server restarted.".to_string());
        }
        if let Some(comp) = &op.compensated_by {
            facts.push(format!(
                "Undone by `{}` (see `Compensation::for_{}`).",
                comp.op, op.name
            ));
        }
        if !op.callers.is_empty() {
            facts.push(format!("Callers: {}.", op.callers.join(", ")));
        }
        if facts.is_empty() {
            facts.push("Not idempotent: a server death is reported, not retried.".to_string());
        }
        for f in facts {
            w.line(&format!("/// {f}"));
        }
        let params: Vec<String> = op
            .params
            .iter()
            .map(|p| match &p.kind {
                ParamKind::Value(t) => format!("{}: {}", p.name, t.ty.rust()),
                ParamKind::Lease { write: false, .. } => format!("{}: &[u8]", p.name),
                ParamKind::Lease { write: true, .. } => format!("{}: &mut [u8]", p.name),
            })
            .collect();
        let ret = format!(
            "Result<{}, ClientError<{}>>",
            op.reply.ty.rust(),
            error_type(op)
        );
        let head = format!(
            "pub fn {}(&mut self, {}) -> {ret} {{",
            op.name,
            params.join(", ")
        );
        if params.len() + 1 > 7 {
            w.line("#[allow(clippy::too_many_arguments)]");
        }
        if head.len() + 8 <= 100 {
            w.open(&head);
        } else {
            w.open(&format!("pub fn {}(", op.name));
            w.line("&mut self,");
            for p in &params {
                w.line(&format!("{p},"));
            }
            w.indent -= 1;
            w.open(&format!(") -> {ret} {{"));
        }
        let fields: Vec<&str> = op.args().map(|(p, _)| p.name.as_str()).collect();
        if fields.is_empty() {
            w.line(&format!("let args = {name}Args {{}};"));
        } else {
            w.line(&format!(
                "let args = {name}Args {{ {} }};",
                fields.join(", ")
            ));
        }
        w.line(&format!("let mut request = [0; {upper}_REQUEST_MAX];"));
        w.line(&format!("let mut reply = [0; {upper}_REPLY_MAX];"));
        let leases: Vec<String> = op
            .leases()
            .map(|(p, write, _)| {
                if write {
                    format!("Lease::Write({})", p.name)
                } else {
                    format!("Lease::Read({})", p.name)
                }
            })
            .collect();
        w.open("idl_runtime::call(");
        w.line("&mut self.transport,");
        w.line("&mut self.server,");
        w.line(&format!("&{upper},"));
        w.line("&args,");
        w.line("&mut request,");
        w.line("&mut reply,");
        w.line(&format!("&mut [{}],", leases.join(", ")));
        w.close(")");
        w.close("}");
    }
    w.close("}");
}
