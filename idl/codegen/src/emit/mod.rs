//! Turns a checked interface into Rust source.
//!
//! The code is built as syntax (`quote!`) and printed by `prettyplease`, so
//! it is always well-formed and formatted the way rustfmt would; the only
//! thing added to the printed text is a blank line between items
//! ([`spaced`]), which `prettyplease` leaves out, so a person can open it
//! under `target/` (or in `tests/golden/`) and read it. Everything it names
//! from outside comes through `idl_runtime` and `idl_types`, so a task
//! crate needs only those two dependencies.

mod client;
mod compensation;
mod messages;
mod server;

use std::collections::BTreeSet;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ast::{Interface, Operation, Type};
use crate::check::{fixed_layout, Encoding, Sizes};
use crate::error::Error;

/// `map_range` → `MapRange`.
pub(crate) fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `AcpiTables` → `acpi_tables`.
pub(crate) fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An identifier from a name the checker accepted.
pub(crate) fn ident(name: &str) -> Ident {
    format_ident!("{}", name)
}

/// `Acquire` for operation `acquire`.
pub(crate) fn variant(op: &Operation) -> Ident {
    ident(&camel(&op.name))
}

/// `AcquireArgs` for operation `acquire`.
pub(crate) fn args_struct(op_name: &str) -> Ident {
    format_ident!("{}Args", camel(op_name))
}

/// `ACQUIRE` for operation `acquire`, and `ACQUIRE_REQUEST_MAX` etc. with
/// a suffix.
pub(crate) fn constant(op: &Operation, suffix: &str) -> Ident {
    format_ident!("{}{}", op.name.to_ascii_uppercase(), suffix)
}

/// `#[doc = " line"]` for each line (`///` once printed).
pub(crate) fn docs<S: AsRef<str>>(lines: &[S]) -> TokenStream {
    let attrs = lines.iter().map(|line| {
        let line = line.as_ref();
        let text = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #text])
    });
    quote!(#(#attrs)*)
}

/// A type as Rust syntax.
pub(crate) fn ty(t: &Type) -> TokenStream {
    match t {
        Type::Unit => quote!(()),
        Type::Bool => quote!(bool),
        Type::Int(i) => {
            let name = ident(i.rust_name());
            quote!(#name)
        }
        Type::Array(inner, n) => {
            let inner = ty(inner);
            let n = Literal::u64_unsuffixed(*n);
            quote!([#inner; #n])
        }
        Type::Option(inner) => {
            let inner = ty(inner);
            quote!(Option<#inner>)
        }
        Type::Named(name) => {
            let name = ident(name);
            quote!(#name)
        }
    }
}

/// The error type an operation's client and server use.
pub(crate) fn error_type(op: &Operation) -> TokenStream {
    match &op.error {
        Some(e) => ty(&e.ty),
        None => quote!(NoError),
    }
}

/// The operation's `///` lines, or a stand-in naming it.
pub(crate) fn op_docs(op: &Operation) -> Vec<String> {
    if op.docs.is_empty() {
        vec![format!("Operation `{}`.", op.name)]
    } else {
        op.docs.clone()
    }
}

/// One line saying how the operation's messages travel, and why.
pub(crate) fn encoding_line(op: &Operation, sizes: Sizes) -> String {
    match sizes.encoding {
        Encoding::Fixed => format!(
            "Encoding: fixed layouts of {} and {} bytes, checked in place ({} and {} on the wire).",
            sizes.layouts.0, sizes.layouts.1, sizes.request, sizes.reply
        ),
        Encoding::Postcard => {
            let variable = op
                .args()
                .map(|(_, t)| &t.ty)
                .chain([&op.reply.ty])
                .chain(op.error.as_ref().map(|e| &e.ty))
                .find(|t| fixed_layout(t).is_none());
            match variable {
                Some(t) => format!(
                    "Encoding: postcard (`{}` has no fixed layout), at most {} bytes each way.",
                    t.rust(),
                    sizes.request.max(sizes.reply)
                ),
                None => "Encoding: postcard.".to_string(),
            }
        }
    }
}

/// Generates the module for `iface`; `source` names the `.idl` file and
/// `tag` is its interface tag ([`crate::interface_tag`]).
pub fn emit(source: &str, iface: &Interface, sizes: &[Sizes], tag: u16) -> Result<String, Error> {
    let module = ident(&snake(&iface.name));
    let module_docs = docs(&iface.docs);
    let imports = imports(iface, sizes);
    let op_enum = op_enum(iface, tag);
    let messages = iface
        .ops
        .iter()
        .zip(sizes)
        .map(|(op, size)| messages::emit(&snake(&iface.name), op, *size));
    let client = client::emit(iface, sizes);
    let server = server::emit(iface, sizes);
    let compensation = if iface.ops.iter().any(|op| op.compensated_by.is_some()) {
        compensation::emit(iface)
    } else {
        quote!()
    };
    let tokens = quote! {
        #module_docs
        pub mod #module {
            #imports
            #op_enum
            #(#messages)*
            #client
            #server
            #compensation
        }
    };
    let file: syn::File = syn::parse2(tokens).map_err(|e| Error::Generated {
        interface: iface.name.clone(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "// Generated by idl-codegen from {source}: edit that file, not this one.\n\n{}",
        spaced(&prettyplease::unparse(&file))
    ))
}

fn imports(iface: &Interface, sizes: &[Sizes]) -> TokenStream {
    let leases = || iface.ops.iter().flat_map(|op| op.leases());
    let mut runtime = vec![
        "Call",
        "ClientError",
        "Dispatch",
        "DispatchOutcome",
        "Encoding",
        "MaxEncodedLen",
        "OpSpec",
        "ServerContext",
        "Transport",
    ];
    if sizes.iter().any(|s| s.encoding == Encoding::Fixed) {
        runtime.push("Fixed");
    }
    if leases().next().is_some() {
        runtime.extend(["Lease", "LeaseRule"]);
    }
    if leases().any(|(_, write, _)| !write) {
        runtime.push("ReadLease");
    }
    if leases().any(|(_, write, _)| write) {
        runtime.push("WriteLease");
    }
    runtime.sort_unstable();
    let runtime = runtime.into_iter().map(ident);

    let mut found = Vec::new();
    for op in &iface.ops {
        for (_, t) in op.args() {
            t.ty.named(&mut found);
        }
        op.reply.ty.named(&mut found);
        match &op.error {
            Some(e) => e.ty.named(&mut found),
            None => found.push("NoError".to_string()),
        }
    }
    let named: BTreeSet<String> = found.into_iter().collect();
    let named = named.iter().map(|n| ident(n));
    quote! {
        use idl_runtime::abi::{ReplyFaultReason, TaskId};
        use idl_runtime::serde::{Deserialize, Serialize};
        use idl_runtime::{#(#runtime),*};
        use idl_types::{#(#named),*};
    }
}

fn op_enum(iface: &Interface, tag: u16) -> TokenStream {
    let tag_docs = docs(&[
        format!(
            "`{}`'s tag: the upper 16 bits of its operation codes,",
            iface.name
        ),
        "from its name and every operation's encoding (`idl/README.md`): a".to_string(),
        "client and a server built from different encodings refuse each".to_string(),
        "other's messages.".to_string(),
    ]);
    // Written in hex, as a tag reads best.
    let tag = format!("{tag:#06x}")
        .parse::<Literal>()
        .unwrap_or_else(|_| Literal::u16_unsuffixed(tag));
    let enum_docs = docs(&[
        format!(
            "The operations of `{}`, by their stable numbers.",
            iface.name
        ),
        String::new(),
        "A code is [`INTERFACE_ID`] in the upper 16 bits and the `.idl`'s number".to_string(),
        "below: a message meant for another interface is refused, and one task".to_string(),
        "can serve several interfaces.".to_string(),
    ]);
    let variants = iface.ops.iter().map(|op| {
        let d = docs(&op_docs(op));
        let v = variant(op);
        let n = Literal::u32_unsuffixed(op.number);
        quote! {
            #d
            #v = (INTERFACE_ID as u32) << 16 | #n,
        }
    });
    // `from_raw` is a `match`, not a search of `ALL`: the compiler folds it
    // into the dispatch's own `match` (one comparison per operation).
    let all: Vec<Ident> = iface.ops.iter().map(variant).collect();
    let count = Literal::usize_unsuffixed(all.len());
    let names: Vec<&str> = iface.ops.iter().map(|op| op.name.as_str()).collect();
    let specs: Vec<Ident> = iface.ops.iter().map(|op| constant(op, "")).collect();
    quote! {
        #tag_docs
        pub const INTERFACE_ID: u16 = #tag;

        #enum_docs
        #[repr(u32)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        pub enum Op {
            #(#variants)*
        }

        impl Op {
            /// Every operation, in declaration order.
            pub const ALL: [Op; #count] = [#(Op::#all),*];

            /// The operation with this number, if there is one.
            pub const fn from_raw(raw: u32) -> Option<Op> {
                match raw {
                    #(x if x == Op::#all as u32 => Some(Op::#all),)*
                    _ => None,
                }
            }

            /// Its name in the `.idl` file.
            pub const fn name(self) -> &'static str {
                match self {
                    #(Op::#all => #names,)*
                }
            }

            /// What client and server know about it.
            pub const fn spec(self) -> &'static OpSpec {
                match self {
                    #(Op::#all => &#specs,)*
                }
            }
        }
    }
}

/// Puts a blank line before each item that follows another item at the
/// same depth (not between consecutive `use`s, fields, variants, match
/// arms or statements), as a person would.
fn spaced(text: &str) -> String {
    const ITEM_STARTS: &[&str] = &[
        "///", "#[", "pub ", "impl", "fn ", "const ", "struct ", "enum ", "trait ", "mod ",
        "type ", "use ", "static ",
    ];
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous: Option<&str> = None;
    let mut last_item_was_use = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let starts_item = ITEM_STARTS.iter().any(|s| trimmed.starts_with(s));
        if let Some(prev) = previous {
            let prev_trimmed = prev.trim_start();
            let prev_indent = prev.len() - prev_trimmed.len();
            let prev_ends_item = (prev_trimmed.ends_with('}') || prev_trimmed.ends_with(';'))
                && !prev_trimmed.starts_with("//")
                && !prev_trimmed.starts_with("#[");
            let both_use = last_item_was_use && trimmed.starts_with("use ");
            if starts_item && prev_indent == indent && prev_ends_item && !both_use {
                out.push('\n');
            }
        }
        if starts_item && !trimmed.starts_with("///") && !trimmed.starts_with("#[") {
            last_item_was_use = trimmed.starts_with("use ");
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

/// Whether the type is `()`.
pub(crate) fn is_unit(t: &Type) -> bool {
    *t == Type::Unit
}
