//! The `Compensation` enum: each compensable operation's undo, recorded as
//! data when the forward call succeeds and sent later if the transaction
//! must roll back.
//!
//! A recorded undo is the undo operation's argument struct, so it is sent
//! in that operation's encoding (its fixed layout, for every undo the
//! system has) by the same client method as any call; it also derives
//! serde, which is how a journal stores it.

use proc_macro2::TokenStream;
use quote::quote;

use super::{args_struct, docs, error_type, ident, is_unit, ty, variant};
use crate::ast::{Interface, Source};

pub(crate) fn emit(iface: &Interface) -> TokenStream {
    let compensable: Vec<_> = iface
        .ops
        .iter()
        .filter_map(|op| op.compensated_by.as_ref().map(|c| (op, c)))
        .collect();
    let undo_of = |name: &str| iface.ops.iter().find(|o| o.name == name);

    let variants = compensable.iter().map(|(op, comp)| {
        let one_line = format!("Undoes `{}` with `{}`.", op.name, describe(comp));
        let variant_docs = if one_line.len() <= 80 {
            docs(&[one_line])
        } else {
            docs(&[
                format!("Undoes `{}` with", op.name),
                format!("`{}`.", describe(comp)),
            ])
        };
        let v = variant(op);
        let undo_args = args_struct(&comp.op);
        quote! {
            #variant_docs
            #v(#undo_args),
        }
    });

    // The tag is one byte (fewer than 128 variants); the body is the largest
    // undo argument struct.
    let mut bodies: Vec<String> = Vec::new();
    for (_, comp) in &compensable {
        if !bodies.contains(&comp.op) {
            bodies.push(comp.op.clone());
        }
    }
    let bodies = bodies.iter().map(|name| {
        let args = args_struct(name);
        quote!(<#args as MaxEncodedLen>::MAX_ENCODED_LEN)
    });

    let constructors = compensable.iter().filter_map(|(op, comp)| {
        let undo = undo_of(&comp.op)?;
        let uses_args = comp
            .bindings
            .iter()
            .any(|b| matches!(b.source, Source::Arg(_)));
        let uses_reply = comp
            .bindings
            .iter()
            .any(|b| matches!(b.source, Source::Reply(_)));
        let args = if uses_args {
            quote!(args)
        } else {
            quote!(_args)
        };
        let reply = if uses_reply {
            quote!(reply)
        } else {
            quote!(_reply)
        };
        let doc = docs(&[format!(
            "The undo of an `{}(args)` that replied `reply`.",
            op.name
        )]);
        let name = quote::format_ident!("for_{}", op.name);
        let op_args = args_struct(&op.name);
        let reply_ty = ty(&op.reply.ty);
        let v = variant(op);
        let undo_args = args_struct(&undo.name);
        let fields = undo.args().filter_map(|(p, _)| {
            let b = comp.bindings.iter().find(|b| b.param == p.name)?;
            let field = ident(&p.name);
            let value = match &b.source {
                Source::Arg(a) => {
                    let a = ident(a);
                    quote!(args.#a.clone())
                }
                Source::Reply(path) if path.is_empty() => quote!(reply.clone()),
                Source::Reply(path) => {
                    let path = path.iter().map(|p| ident(p));
                    quote!(reply #(.#path)*.clone())
                }
            };
            Some(quote!(#field: #value,))
        });
        Some(quote! {
            #doc
            pub fn #name(#args: &#op_args, #reply: &#reply_ty) -> Compensation {
                Compensation::#v(#undo_args { #(#fields)* })
            }
        })
    });

    let error = compensable
        .first()
        .and_then(|(_, comp)| undo_of(&comp.op))
        .map_or_else(|| quote!(NoError), error_type);
    let arms = compensable.iter().filter_map(|(op, comp)| {
        let undo = undo_of(&comp.op)?;
        let v = variant(op);
        let method = ident(&undo.name);
        let args = undo.args().map(|(p, _)| {
            let field = ident(&p.name);
            quote!(undo.#field.clone())
        });
        let tail = if is_unit(&undo.reply.ty) {
            quote!()
        } else {
            quote!(.map(|_| ()))
        };
        Some(quote! {
            Compensation::#v(undo) => client.#method(#(#args),*)#tail,
        })
    });

    quote! {
        /// The undo of each compensable operation, as a message to send later:
        /// a transaction journal is a list of these (serde, e.g. postcard).
        /// Each is sent in its undo operation's encoding.
        #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
        #[serde(crate = "idl_runtime::serde")]
        pub enum Compensation {
            #(#variants)*
        }

        impl MaxEncodedLen for Compensation {
            const MAX_ENCODED_LEN: usize = 1 + idl_types::max_len_of(&[#(#bodies),*]);
        }

        #[allow(clippy::clone_on_copy)]
        impl Compensation {
            #(#constructors)*

            /// Sends the undo through `client`. The undo's reply value is dropped:
            /// an undo reports only whether it worked.
            pub fn execute<T: Transport>(
                &self,
                client: &mut Client<T>,
            ) -> Result<(), ClientError<#error>> {
                match self {
                    #(#arms)*
                }
            }
        }
    }
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
