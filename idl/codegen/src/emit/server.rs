//! The server trait, the dispatch function and the `Endpoint` adapter.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{args_struct, constant, docs, error_type, ident, is_unit, op_docs, ty, variant};
use crate::ast::{Interface, Operation, ParamKind};
use crate::check::{Encoding, Sizes};

pub(crate) fn emit(iface: &Interface, sizes: &[Sizes]) -> TokenStream {
    let trait_def = trait_def(iface);
    let dispatch = dispatch(iface, sizes);
    quote! {
        #trait_def
        #dispatch

        /// A [`Server`] as the object-safe `Dispatch` that `idl_runtime::serve`
        /// and `idl_runtime::InProcess` drive.
        pub struct Endpoint<S>(pub S);

        impl<S: Server> Dispatch for Endpoint<S> {
            fn dispatch(
                &mut self,
                call: &Call<'_>,
                ctx: &dyn ServerContext,
                reply: &mut [u8],
            ) -> DispatchOutcome {
                dispatch(&mut self.0, call, ctx, reply)
            }

            fn notification_mask(&self) -> u32 {
                self.0.notification_mask()
            }

            fn notified(&mut self, bits: u32) {
                self.0.notified(bits)
            }
        }
    }
}

fn trait_def(iface: &Interface) -> TokenStream {
    let trait_docs = docs(&[
        format!(
            "The server side of `{}`: one method per operation, called by",
            iface.name
        ),
        "[`dispatch`] once the message passed every check.".to_string(),
    ]);
    let methods = iface.ops.iter().map(|op| {
        let method_docs = docs(&op_docs(op));
        let name = ident(&op.name);
        let args = args_struct(&op.name);
        let leases = op.params.iter().filter_map(|p| {
            let param = ident(&p.name);
            match p.kind {
                ParamKind::Lease { write: false, .. } => Some(quote!(#param: ReadLease<'_>)),
                ParamKind::Lease { write: true, .. } => Some(quote!(#param: WriteLease<'_>)),
                ParamKind::Value(_) => None,
            }
        });
        let reply_ty = ty(&op.reply.ty);
        let ret = match &op.error {
            Some(e) => {
                let e = ty(&e.ty);
                quote!(-> Result<#reply_ty, #e>)
            }
            None if is_unit(&op.reply.ty) => quote!(),
            None => quote!(-> #reply_ty),
        };
        quote! {
            #method_docs
            fn #name(&mut self, caller: TaskId, args: #args #(, #leases)*) #ret;
        }
    });
    quote! {
        #trait_docs
        pub trait Server {
            #(#methods)*

            /// The notification bits this server wakes up for.
            fn notification_mask(&self) -> u32 {
                0
            }

            /// Called with the notification bits that fired.
            fn notified(&mut self, _bits: u32) {}
        }
    }
}

fn dispatch(iface: &Interface, sizes: &[Sizes]) -> TokenStream {
    let arms = iface.ops.iter().zip(sizes).map(|(op, size)| arm(op, *size));
    quote! {
        /// Checks, decodes and answers one message for `server`: unknown
        /// operations and malformed messages get a reply fault, callers not
        /// listed get `ACCESS_DENIED`; nothing a client sends makes it panic.
        pub fn dispatch<S: Server + ?Sized>(
            server: &mut S,
            call: &Call<'_>,
            ctx: &dyn ServerContext,
            reply: &mut [u8],
        ) -> DispatchOutcome {
            let Some(op) = Op::from_raw(call.op) else {
                return DispatchOutcome::Fault(ReplyFaultReason::UndefinedOperation);
            };
            match op {
                #(#arms)*
            }
        }
    }
}

fn arm(op: &Operation, sizes: Sizes) -> TokenStream {
    let name = variant(op);
    let spec = constant(op, "");
    let method = ident(&op.name);
    let (admit, encode) = match sizes.encoding {
        Encoding::Fixed => (quote!(admit_fixed), quote!(encode_reply_fixed)),
        Encoding::Postcard => (quote!(admit), quote!(encode_reply)),
    };
    let mut lease_index = 0usize;
    let mut lease_lets = Vec::new();
    let mut call_args = vec![quote!(call.caller), quote!(admitted.args)];
    for p in &op.params {
        if let ParamKind::Lease { write, .. } = p.kind {
            let param = ident(&p.name);
            let kind = if write {
                quote!(write_lease)
            } else {
                quote!(read_lease)
            };
            let index = Literal::usize_unsuffixed(lease_index);
            lease_lets.push(quote!(let #param = admitted.#kind(ctx, #index);));
            call_args.push(quote!(#param));
            lease_index += 1;
        }
    }
    let answer = if op.error.is_some() {
        quote! {
            let result = server.#method(#(#call_args),*);
            idl_runtime::#encode(result, reply)
        }
    } else if is_unit(&op.reply.ty) {
        quote! {
            server.#method(#(#call_args),*);
            idl_runtime::#encode(Ok::<(), NoError>(()), reply)
        }
    } else {
        let error = error_type(op);
        quote! {
            let value = server.#method(#(#call_args),*);
            idl_runtime::#encode(Ok::<_, #error>(value), reply)
        }
    };
    quote! {
        Op::#name => {
            let checked = idl_runtime::#admit(call, ctx, &#spec);
            let admitted = match checked {
                Ok(admitted) => admitted,
                Err(refusal) => return refusal,
            };
            #(#lease_lets)*
            #answer
        }
    }
}
