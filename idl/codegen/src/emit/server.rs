//! The server trait, the dispatch function and the `Endpoint` adapter.

use super::{call_lines, camel, error_type, is_unit, op_docs, upper, Writer};
use crate::ast::{Interface, ParamKind};

pub(crate) fn emit(w: &mut Writer, iface: &Interface) {
    trait_def(w, iface);
    w.line("");
    dispatch(w, iface);
    w.line("");
    endpoint(w);
}

fn trait_def(w: &mut Writer, iface: &Interface) {
    w.line(&format!(
        "/// The server side of `{}`: one method per operation, called by",
        iface.name
    ));
    w.line("/// [`dispatch`] once the message passed every check.");
    w.open("pub trait Server {");
    for op in &iface.ops {
        op_docs(w, op);
        let name = camel(&op.name);
        let mut params = vec![
            "&mut self".to_string(),
            "caller: TaskId".to_string(),
            format!("args: {name}Args"),
        ];
        for p in &op.params {
            match p.kind {
                ParamKind::Lease { write: false, .. } => {
                    params.push(format!("{}: ReadLease<'_>", p.name))
                }
                ParamKind::Lease { write: true, .. } => {
                    params.push(format!("{}: WriteLease<'_>", p.name))
                }
                ParamKind::Value(_) => {}
            }
        }
        let ret = match &op.error {
            Some(e) => format!("Result<{}, {}>", op.reply.ty.rust(), e.ty.rust()),
            None => op.reply.ty.rust(),
        };
        let ret = if ret == "()" {
            String::new()
        } else {
            format!(" -> {ret}")
        };
        let head = format!("fn {}({}){ret};", op.name, params.join(", "));
        if head.len() + 8 <= 100 {
            w.line(&head);
        } else {
            w.open(&format!("fn {}(", op.name));
            for p in &params {
                w.line(&format!("{p},"));
            }
            w.close(&format!("){ret};"));
        }
        w.line("");
    }
    w.line("/// The notification bits this server wakes up for.");
    w.open("fn notification_mask(&self) -> u32 {");
    w.line("0");
    w.close("}");
    w.line("");
    w.line("/// Called with the notification bits that fired.");
    w.line("fn notified(&mut self, _bits: u32) {}");
    w.close("}");
}

fn dispatch(w: &mut Writer, iface: &Interface) {
    w.line("/// Checks, decodes and answers one message for `server`: unknown");
    w.line("/// operations and malformed messages get a reply fault, callers not");
    w.line("/// listed get `ACCESS_DENIED`; nothing a client sends makes it panic.");
    w.open("pub fn dispatch<S: Server + ?Sized>(");
    w.line("server: &mut S,");
    w.line("call: &Call<'_>,");
    w.line("ctx: &dyn ServerContext,");
    w.line("reply: &mut [u8],");
    w.indent -= 1;
    w.open(") -> DispatchOutcome {");
    w.open("let Some(op) = Op::from_raw(call.op) else {");
    w.line("return DispatchOutcome::Fault(ReplyFaultReason::UndefinedOperation);");
    w.close("};");
    w.open("match op {");
    for op in &iface.ops {
        w.open(&format!("Op::{} => {{", camel(&op.name)));
        w.line(&format!(
            "let checked = idl_runtime::admit(call, ctx, &{});",
            upper(&op.name)
        ));
        w.open("let admitted = match checked {");
        w.line("Ok(admitted) => admitted,");
        w.line("Err(refusal) => return refusal,");
        w.close("};");
        let mut lease_index = 0;
        let mut call_args = vec!["call.caller".to_string(), "admitted.args".to_string()];
        for p in &op.params {
            if let ParamKind::Lease { write, .. } = p.kind {
                let kind = if write { "write_lease" } else { "read_lease" };
                w.line(&format!(
                    "let {} = admitted.{kind}(ctx, {lease_index});",
                    p.name
                ));
                call_args.push(p.name.clone());
                lease_index += 1;
            }
        }
        let invoke = format!("server.{}", op.name);
        if op.error.is_some() {
            call_lines(w, &format!("let result = {invoke}"), &call_args, ";");
            w.line("idl_runtime::encode_reply(result, reply)");
        } else if is_unit(&op.reply.ty) {
            call_lines(w, &invoke, &call_args, ";");
            w.line("idl_runtime::encode_reply(Ok::<(), NoError>(()), reply)");
        } else {
            call_lines(w, &format!("let value = {invoke}"), &call_args, ";");
            w.line(&format!(
                "idl_runtime::encode_reply(Ok::<_, {}>(value), reply)",
                error_type(op)
            ));
        }
        w.close("}");
    }
    w.close("}");
    w.close("}");
}

fn endpoint(w: &mut Writer) {
    w.line("/// A [`Server`] as the object-safe `Dispatch` that `idl_runtime::serve`");
    w.line("/// and `idl_runtime::InProcess` drive.");
    w.line("pub struct Endpoint<S>(pub S);");
    w.line("");
    w.open("impl<S: Server> Dispatch for Endpoint<S> {");
    w.open("fn dispatch(");
    w.line("&mut self,");
    w.line("call: &Call<'_>,");
    w.line("ctx: &dyn ServerContext,");
    w.line("reply: &mut [u8],");
    w.indent -= 1;
    w.open(") -> DispatchOutcome {");
    w.line("dispatch(&mut self.0, call, ctx, reply)");
    w.close("}");
    w.line("");
    w.open("fn notification_mask(&self) -> u32 {");
    w.line("self.0.notification_mask()");
    w.close("}");
    w.line("");
    w.open("fn notified(&mut self, bits: u32) {");
    w.line("self.0.notified(bits)");
    w.close("}");
    w.close("}");
}
