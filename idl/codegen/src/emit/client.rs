//! The client struct: one typed method per operation.

use proc_macro2::TokenStream;
use quote::quote;

use super::{args_struct, constant, docs, encoding_line, error_type, ident, op_docs, ty};
use crate::ast::{Interface, Operation, ParamKind};
use crate::check::{Encoding, Sizes};

pub(crate) fn emit(iface: &Interface, sizes: &[Sizes]) -> TokenStream {
    let struct_docs = docs(&[
        format!(
            "A client of `{}`: one method per operation. It holds the server's",
            iface.name
        ),
        "task ID and follows the server's restarts (see `ClientError`).".to_string(),
    ]);
    let methods = iface
        .ops
        .iter()
        .zip(sizes)
        .map(|(op, size)| method(op, *size));
    quote! {
        #struct_docs
        pub struct Client<T: Transport> {
            transport: T,
            server: TaskId,
        }

        impl<T: Transport> Client<T> {
            /// A client that reaches `server` through `transport`.
            pub fn new(transport: T, server: TaskId) -> Self {
                Client { transport, server }
            }

            /// The server's task ID, at the generation last heard of.
            pub fn server(&self) -> TaskId {
                self.server
            }

            #(#methods)*
        }
    }
}

fn method(op: &Operation, sizes: Sizes) -> TokenStream {
    let mut lines = op_docs(op);
    lines.push(String::new());
    if op.idempotent {
        lines.push("Idempotent: retried once if the server restarted.".to_string());
    }
    if let Some(comp) = &op.compensated_by {
        lines.push(format!(
            "Undone by `{}` (see `Compensation::for_{}`).",
            comp.op, op.name
        ));
    }
    if !op.callers.is_empty() {
        lines.push(format!("Callers: {}.", op.callers.join(", ")));
    }
    if !op.idempotent && op.compensated_by.is_none() && op.callers.is_empty() {
        lines.push("Not idempotent: a server death is reported, not retried.".to_string());
    }
    lines.push(encoding_line(op, sizes));
    let method_docs = docs(&lines);

    let name = ident(&op.name);
    let params = op.params.iter().map(|p| {
        let param = ident(&p.name);
        match &p.kind {
            ParamKind::Value(t) => {
                let t = ty(&t.ty);
                quote!(#param: #t)
            }
            ParamKind::Lease { write: false, .. } => quote!(#param: &[u8]),
            ParamKind::Lease { write: true, .. } => quote!(#param: &mut [u8]),
        }
    });
    let too_many = if op.params.len() + 1 > 7 {
        quote!(#[allow(clippy::too_many_arguments)])
    } else {
        quote!()
    };
    let reply_ty = ty(&op.reply.ty);
    let error_ty = error_type(op);
    let args = args_struct(&op.name);
    let fields = op.args().map(|(p, _)| ident(&p.name));
    let spec = constant(op, "");
    let request_max = constant(op, "_REQUEST_MAX");
    let reply_max = constant(op, "_REPLY_MAX");
    let leases = op.leases().map(|(p, write, _)| {
        let param = ident(&p.name);
        if write {
            quote!(Lease::Write(#param))
        } else {
            quote!(Lease::Read(#param))
        }
    });
    let call = match sizes.encoding {
        Encoding::Fixed => quote! {
            let mut reply = [0; #reply_max];
            idl_runtime::call_fixed(
                &mut self.transport,
                &mut self.server,
                &#spec,
                &args,
                &mut reply,
                &mut [#(#leases),*],
            )
        },
        Encoding::Postcard => quote! {
            let mut request = [0; #request_max];
            let mut reply = [0; #reply_max];
            idl_runtime::call(
                &mut self.transport,
                &mut self.server,
                &#spec,
                &args,
                &mut request,
                &mut reply,
                &mut [#(#leases),*],
            )
        },
    };
    quote! {
        #method_docs
        #too_many
        pub fn #name(&mut self, #(#params),*) -> Result<#reply_ty, ClientError<#error_ty>> {
            let args = #args { #(#fields),* };
            #call
        }
    }
}
