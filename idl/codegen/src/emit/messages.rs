//! Per operation: its argument struct, its message sizes and its `OpSpec`.
//!
//! The argument struct always derives serde (a `Compensation` holding it is
//! journaled with postcard); a fixed-layout operation's also derives
//! `Fixed` with its size declared, so the build checks the layout against
//! the generator's arithmetic.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{args_struct, constant, docs, encoding_line, ident, ty, variant};
use crate::ast::{IntType, Operation, ParamKind, Type};
use crate::check::{Encoding, Sizes};

pub(crate) fn emit(module: &str, op: &Operation, sizes: Sizes) -> TokenStream {
    let name = variant(op);
    let args = args_struct(&op.name);
    let request_max = constant(op, "_REQUEST_MAX");
    let reply_max = constant(op, "_REPLY_MAX");
    let spec = constant(op, "");
    let fixed = sizes.encoding == Encoding::Fixed;

    let arg_docs = docs(&[
        format!("Arguments of [`Op::{name}`]."),
        String::new(),
        encoding_line(op, sizes),
    ]);
    let fields = op.args().map(|(p, t)| {
        let field_docs = if p.docs.is_empty() {
            docs(&[format!("Argument `{}`.", p.name)])
        } else {
            docs(&p.docs)
        };
        let field = ident(&p.name);
        let field_ty = ty(&t.ty);
        quote! {
            #field_docs
            pub #field: #field_ty,
        }
    });
    let (derive_fixed, fixed_size) = if fixed {
        let size = Literal::usize_unsuffixed(sizes.layouts.0);
        (quote!(, Fixed), quote!(#[fixed(size = #size)]))
    } else {
        (quote!(), quote!())
    };
    let max_terms: Vec<TokenStream> = op
        .args()
        .map(|(_, t)| {
            let t = ty(&t.ty);
            quote!(<#t as MaxEncodedLen>::MAX_ENCODED_LEN)
        })
        .collect();
    let max_sum = if max_terms.is_empty() {
        quote!(0)
    } else {
        quote!(#(#max_terms)+*)
    };

    let reply_ty = ty(&op.reply.ty);
    let (request_doc, request_value) = if fixed {
        (
            format!(
                "The `{}` request: its {}-byte fixed layout in {} bytes (whole words).",
                op.name, sizes.layouts.0, sizes.request
            ),
            quote!(idl_types::wire::message_len(<#args as Fixed>::SIZE)),
        )
    } else {
        (
            format!(
                "The largest `{}` request: {} bytes.",
                op.name, sizes.request
            ),
            quote!(<#args as MaxEncodedLen>::MAX_ENCODED_LEN),
        )
    };
    let size_of = |t: TokenStream| {
        if fixed {
            quote!(<#t as Fixed>::SIZE)
        } else {
            quote!(<#t as MaxEncodedLen>::MAX_ENCODED_LEN)
        }
    };
    let (reply_doc, reply_value) = match &op.error {
        Some(e) => {
            let value = size_of(reply_ty.clone());
            let error = size_of(ty(&e.ty));
            (
                format!(
                    "The largest `{}` reply (its value or its error): {} bytes.",
                    op.name, sizes.reply
                ),
                quote!(idl_types::max_len(#value, #error)),
            )
        }
        None => (
            format!("The largest `{}` reply: {} bytes.", op.name, sizes.reply),
            size_of(reply_ty.clone()),
        ),
    };
    let reply_value = if fixed {
        quote!(idl_types::wire::message_len(#reply_value))
    } else {
        reply_value
    };
    let request_doc = docs(&[request_doc]);
    let reply_doc = docs(&[reply_doc]);
    // An empty message cannot exceed the limit (and clippy rejects the
    // comparison `0 <= N`).
    let limits = [
        ("request", sizes.request, &request_max),
        ("reply", sizes.reply, &reply_max),
    ]
    .into_iter()
    .filter(|(_, size, _)| *size > 0)
    .map(|(part, _, constant)| {
        let message = format!(
            "{module}.{}: the {part} can exceed the kernel's MAX_MESSAGE",
            op.name
        );
        quote! {
            const _: () = assert!(#constant <= idl_runtime::abi::MAX_MESSAGE, #message);
        }
    });

    let spec_docs = docs(&[
        format!("What client and server know about `{}`.", op.name),
        String::new(),
        encoding_line(op, sizes),
    ]);
    let encoding = if fixed {
        quote!(Encoding::Fixed)
    } else {
        quote!(Encoding::Postcard)
    };
    let idempotent = op.idempotent;
    let callers = &op.callers;
    let leases = op.params.iter().filter_map(|p| match p.kind {
        ParamKind::Lease { write, max_len } => {
            let max_len = Literal::u64_unsuffixed(max_len);
            Some(quote!(LeaseRule { write: #write, max_len: #max_len }))
        }
        ParamKind::Value(_) => None,
    });
    let request_min = if fixed {
        quote!(#request_max)
    } else {
        let min = Literal::u64_unsuffixed(request_min(op.args().map(|(_, t)| &t.ty)));
        quote!(#min)
    };

    quote! {
        #arg_docs
        #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq #derive_fixed)]
        #[serde(crate = "idl_runtime::serde")]
        #fixed_size
        pub struct #args {
            #(#fields)*
        }

        impl MaxEncodedLen for #args {
            const MAX_ENCODED_LEN: usize = #max_sum;
        }

        #request_doc
        pub const #request_max: usize = #request_value;

        #reply_doc
        pub const #reply_max: usize = #reply_value;

        #(#limits)*

        #spec_docs
        pub const #spec: OpSpec = OpSpec {
            op: Op::#name as u32,
            encoding: #encoding,
            idempotent: #idempotent,
            callers: &[#(#callers),*],
            leases: &[#(#leases),*],
            request_min: #request_min,
            request_max: #request_max,
            reply_max: #reply_max,
        };
    }
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
