//! `#[derive(Fixed)]`: declares the fixed wire layout of an `idl-types`
//! type once, next to the type, and has the compiler check it.
//!
//! ```ignore
//! #[derive(Fixed)]
//! #[fixed(size = 3)]
//! pub struct Bdf { pub bus: u8, pub device: u8, pub function: u8 }
//! ```
//!
//! generates `BdfWire`, a `#[repr(C)]` struct of the fields' own layouts
//! (`<u8 as Fixed>::Wire`, ...) deriving zerocopy's `FromBytes`,
//! `IntoBytes` (which refuses padding), `Unaligned` (alignment 1),
//! `Immutable` and `KnownLayout`, a `const` assertion that it has exactly
//! the declared `size`, and `impl Fixed for Bdf` (`to_wire`, `check`,
//! `read`, and a fingerprint of the layout for wire compatibility). An enum
//! becomes a tag byte (the variant's index, as postcard numbers them) and a
//! payload as long as its largest variant, each variant's fields packed from
//! the payload's start and the rest zero; `check` refuses an unknown tag or
//! a nonzero unused byte, naming the field. The rules are `idl/README.md`'s.
//!
//! The generated code names everything through `::idl_types::wire`, so the
//! derive works in `idl-types` (which names itself that way) and in any
//! crate depending on it.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Expr, Fields, Ident, Type};

/// Derives `idl_types::wire::Fixed`; `#[fixed(size = N)]` states the
/// layout's size in bytes, checked at build time.
#[proc_macro_derive(Fixed, attributes(fixed))]
pub fn derive_fixed(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Fixed)] takes no generic parameters: a layout is one size",
        ));
    }
    let size = declared_size(input)?;
    // A literal stays bare; an expression is parenthesized where it is used.
    let size = match size {
        Expr::Lit(_) | Expr::Paren(_) => size,
        other => syn::parse_quote!((#other)),
    };
    match &input.data {
        Data::Struct(s) => Ok(structure(input, &s.fields, size)),
        Data::Enum(e) if e.variants.is_empty() => Err(syn::Error::new_spanned(
            &input.ident,
            "an enum without variants has no value to lay out",
        )),
        Data::Enum(e) => {
            let variants: Vec<(&Ident, &Fields)> =
                e.variants.iter().map(|v| (&v.ident, &v.fields)).collect();
            if variants.len() > usize::from(u8::MAX) + 1 {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "more than 256 variants do not fit the one-byte tag",
                ));
            }
            Ok(enumeration(input, &variants, size))
        }
        Data::Union(u) => Err(syn::Error::new_spanned(
            u.union_token,
            "a union has no checkable layout",
        )),
    }
}

/// The `N` of `#[fixed(size = N)]`.
fn declared_size(input: &DeriveInput) -> syn::Result<Expr> {
    let mut size = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("fixed")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("size") {
                size = Some(meta.value()?.parse::<Expr>()?);
                Ok(())
            } else {
                Err(meta.error("expected `size = N`"))
            }
        })?;
    }
    size.ok_or_else(|| {
        syn::Error::new_spanned(
            &input.ident,
            "#[derive(Fixed)] needs #[fixed(size = N)]: the layout's size in bytes, declared",
        )
    })
}

/// One field: how the value reaches it (`self.a`, `a` in a pattern), its
/// name in error paths and fingerprints, and its type.
struct Field<'a> {
    member: Tokens,
    binding: Ident,
    name: String,
    ty: &'a Type,
}

fn fields_of(fields: &Fields) -> Vec<Field<'_>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| match &f.ident {
            Some(ident) => Field {
                member: quote!(#ident),
                binding: ident.clone(),
                name: ident.to_string(),
                ty: &f.ty,
            },
            None => {
                let index = syn::Index::from(i);
                Field {
                    member: quote!(#index),
                    binding: format_ident!("f{}", i),
                    name: i.to_string(),
                    ty: &f.ty,
                }
            }
        })
        .collect()
}

/// `{ pub a: <A as Fixed>::Wire, .. }` or `(pub <A as Fixed>::Wire, ..);`
fn wire_body(fields: &Fields, vis: Tokens) -> Tokens {
    let wire = |ty: &Type| quote!(<#ty as ::idl_types::wire::Fixed>::Wire);
    match fields {
        Fields::Named(named) => {
            let items = named.named.iter().map(|f| {
                let ident = &f.ident;
                let ty = wire(&f.ty);
                quote!(#vis #ident: #ty)
            });
            quote!({ #(#items,)* })
        }
        Fields::Unnamed(unnamed) => {
            let items = unnamed.unnamed.iter().map(|f| {
                let ty = wire(&f.ty);
                quote!(#vis #ty)
            });
            quote!(( #(#items,)* );)
        }
        Fields::Unit => quote!(;),
    }
}

/// The zerocopy derives every layout carries.
fn layout_attrs() -> Tokens {
    quote! {
        #[derive(
            ::idl_types::wire::zerocopy::FromBytes,
            ::idl_types::wire::zerocopy::IntoBytes,
            ::idl_types::wire::zerocopy::Immutable,
            ::idl_types::wire::zerocopy::KnownLayout,
            ::idl_types::wire::zerocopy::Unaligned,
            Copy, Clone, Debug, PartialEq, Eq
        )]
        #[zerocopy(crate = "::idl_types::wire::zerocopy")]
        #[repr(C)]
    }
}

/// `("a", <A as Fixed>::LAYOUT), ..` for a fingerprint.
fn fingerprint_fields(fields: &[Field<'_>]) -> Tokens {
    let items = fields.iter().map(|f| {
        let name = &f.name;
        let ty = f.ty;
        quote!((#name, <#ty as ::idl_types::wire::Fixed>::LAYOUT))
    });
    quote!(&[#(#items),*])
}

/// The name a field goes by in error paths: `prefix` + its name, or just
/// the variant for a variant's lone field (`NoSuchUnit`, not
/// `NoSuchUnit.0`).
fn field_path(fields: &[Field<'_>], field: &Field<'_>, prefix: &str) -> String {
    if fields.len() == 1 && !prefix.is_empty() {
        prefix.trim_end_matches('.').to_string()
    } else {
        format!("{prefix}{}", field.name)
    }
}

/// Each field of `source` (a wire value with the same members) read if
/// valid, `?` giving up otherwise: the values of a struct expression, in
/// order.
fn valid_fields(fields: &[Field<'_>], source: &Tokens) -> Vec<Tokens> {
    fields
        .iter()
        .map(|f| {
            let member = &f.member;
            let ty = f.ty;
            quote!(<#ty as ::idl_types::wire::Fixed>::read_valid(&#source.#member)?)
        })
        .collect()
}

/// Checks each field of `source` (a wire value with the same members),
/// naming it `prefix` + its name on failure.
fn check_fields(fields: &[Field<'_>], source: &Tokens, prefix: &str) -> Tokens {
    let checks = fields.iter().map(|f| {
        let member = &f.member;
        let ty = f.ty;
        let path = field_path(fields, f, prefix);
        quote! {
            <#ty as ::idl_types::wire::Fixed>::check(&#source.#member)
                .map_err(|e| e.within(#path))?;
        }
    });
    quote!(#(#checks)*)
}

fn structure(input: &DeriveInput, fields: &Fields, size: Expr) -> Tokens {
    let size_text = quote!(#size).to_string();
    let name = &input.ident;
    let vis = &input.vis;
    let wire = format_ident!("{}Wire", name);
    let list = fields_of(fields);
    let body = wire_body(fields, quote!(pub));
    let attrs = layout_attrs();
    let doc = format!(
        "The fixed wire layout of [`{name}`]: {size_text} bytes, its fields in order, \
         each in its own layout (`idl/README.md`)."
    );
    let assert_msg = format!("{name}: the layout is not the declared {size_text} bytes");
    let name_str = name.to_string();
    let fingerprint = fingerprint_fields(&list);
    let members: Vec<&Tokens> = list.iter().map(|f| &f.member).collect();
    let types: Vec<&Type> = list.iter().map(|f| f.ty).collect();
    let to_wire = match fields {
        Fields::Unit => quote!(#wire),
        Fields::Named(_) => quote! {
            #wire { #(#members: <#types as ::idl_types::wire::Fixed>::to_wire(&self.#members),)* }
        },
        Fields::Unnamed(_) => quote! {
            #wire ( #(<#types as ::idl_types::wire::Fixed>::to_wire(&self.#members),)* )
        },
    };
    let read = match fields {
        Fields::Unit => quote!(#name),
        Fields::Named(_) => quote! {
            #name { #(#members: <#types as ::idl_types::wire::Fixed>::read(&wire.#members),)* }
        },
        Fields::Unnamed(_) => quote! {
            #name ( #(<#types as ::idl_types::wire::Fixed>::read(&wire.#members),)* )
        },
    };
    let checks = check_fields(&list, &quote!(wire), "");
    let values = valid_fields(&list, &quote!(wire));
    let decoded = match fields {
        Fields::Unit => quote!(#name),
        Fields::Named(_) => quote!(#name { #(#members: #values,)* }),
        Fields::Unnamed(_) => quote!(#name ( #(#values,)* )),
    };
    let wire_arg = if list.is_empty() {
        quote!(_wire)
    } else {
        quote!(wire)
    };
    quote! {
        #[doc = #doc]
        #attrs
        #vis struct #wire #body

        const _: () = assert!(
            ::core::mem::size_of::<#wire>() == #size,
            #assert_msg
        );

        impl ::idl_types::wire::Fixed for #name {
            type Wire = #wire;
            const SIZE: usize = #size;
            const LAYOUT: u32 = ::idl_types::wire::fingerprint::of_struct(#name_str, #fingerprint);

            #[inline]
            fn to_wire(&self) -> #wire {
                #to_wire
            }

            #[inline]
            fn check(#wire_arg: &#wire) -> ::core::result::Result<(), ::idl_types::wire::WireError> {
                #checks
                Ok(())
            }

            #[inline]
            fn read(#wire_arg: &#wire) -> Self {
                #read
            }

            #[inline]
            fn read_valid(#wire_arg: &#wire) -> ::core::option::Option<Self> {
                Some(#decoded)
            }
        }
    }
}

fn enumeration(input: &DeriveInput, variants: &[(&Ident, &Fields)], size: Expr) -> Tokens {
    let size_text = quote!(#size).to_string();
    let name = &input.ident;
    let vis = &input.vis;
    let wire = format_ident!("{}Wire", name);
    let attrs = layout_attrs();
    let name_str = name.to_string();
    let last = variants.len() - 1;
    let doc = format!(
        "The fixed wire layout of [`{name}`]: {size_text} bytes, a tag (the variant's \
         index, 0..={last}) and the largest variant's fields; a smaller variant \
         leaves the rest zero (`idl/README.md`)."
    );
    let assert_msg = format!(
        "{name}: the declared {size_text} bytes are not a tag and the largest variant's fields"
    );
    let article = if name_str.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    let bad_tag = format!("{article} {name} tag (0..={last})");

    // One private layout per variant that has fields, inside the const
    // block below: the payload holds one of them at its start.
    let mut variant_layouts = Vec::new();
    let mut sizes = Vec::new();
    let mut writes = Vec::new();
    let mut checks = Vec::new();
    let mut reads = Vec::new();
    let mut decodes = Vec::new();
    let mut prints = Vec::new();
    let mut first_read = None;
    for (index, (variant, fields)) in variants.iter().enumerate() {
        let tag = index as u8;
        let list = fields_of(fields);
        let bindings: Vec<&Ident> = list.iter().map(|f| &f.binding).collect();
        let members: Vec<&Tokens> = list.iter().map(|f| &f.member).collect();
        let types: Vec<&Type> = list.iter().map(|f| f.ty).collect();
        let pattern = match fields {
            Fields::Unit => quote!(#name::#variant),
            Fields::Named(_) => quote!(#name::#variant { #(#bindings),* }),
            Fields::Unnamed(_) => quote!(#name::#variant ( #(#bindings),* )),
        };
        let vname = variant.to_string();
        prints.push({
            let fp = fingerprint_fields(&list);
            quote!((#vname, ::idl_types::wire::fingerprint::of_struct(#vname, #fp)))
        });
        let unused = format!("0 (a byte {name}::{vname} does not use)");
        if list.is_empty() {
            sizes.push(quote!(0));
            writes.push(quote!(#pattern => {
                wire.tag = #tag;
            }));
            checks.push(quote!(#tag => ::idl_types::wire::check_unused(&wire.payload, 0, #unused)));
            decodes.push(quote!(
                #tag if ::idl_types::wire::is_zero(&wire.payload) => Some(#name::#variant),
            ));
            let read = quote!(#name::#variant);
            if index == 0 {
                first_read = Some(read);
            } else {
                reads.push(quote!(#tag => #read));
            }
            continue;
        }
        let layout = format_ident!("Variant{}", index);
        let body = wire_body(fields, quote!());
        variant_layouts.push(quote! {
            #attrs
            struct #layout #body
        });
        sizes.push(quote!(::core::mem::size_of::<#layout>()));
        let build = match fields {
            Fields::Named(_) => quote! {
                #layout { #(#bindings: <#types as ::idl_types::wire::Fixed>::to_wire(#bindings),)* }
            },
            _ => quote! {
                #layout ( #(<#types as ::idl_types::wire::Fixed>::to_wire(#bindings),)* )
            },
        };
        writes.push(quote!(#pattern => {
            wire.tag = #tag;
            ::idl_types::wire::put(&mut wire.payload, &#build);
        }));
        let field_checks = check_fields(&list, &quote!(v), &format!("{vname}."));
        checks.push(quote!(#tag => {
            let v: #layout = ::idl_types::wire::take(&wire.payload);
            #field_checks
            ::idl_types::wire::check_unused(&wire.payload, ::core::mem::size_of::<#layout>(), #unused)
        }));
        let value = match fields {
            Fields::Named(_) => quote! {
                #name::#variant { #(#members: <#types as ::idl_types::wire::Fixed>::read(&v.#members),)* }
            },
            _ => quote! {
                #name::#variant ( #(<#types as ::idl_types::wire::Fixed>::read(&v.#members),)* )
            },
        };
        let read = quote!({
            let v: #layout = ::idl_types::wire::take(&wire.payload);
            #value
        });
        let values = valid_fields(&list, &quote!(v));
        let decoded = match fields {
            Fields::Named(_) => quote!(#name::#variant { #(#members: #values,)* }),
            _ => quote!(#name::#variant ( #(#values,)* )),
        };
        decodes.push(quote!(#tag => {
            let v: #layout = ::idl_types::wire::take(&wire.payload);
            let unused = wire
                .payload
                .get(::core::mem::size_of::<#layout>()..)
                .unwrap_or(&[]);
            if !::idl_types::wire::is_zero(unused) {
                return None;
            }
            Some(#decoded)
        }));
        if index == 0 {
            first_read = Some(read);
        } else {
            reads.push(quote!(#tag => #read));
        }
    }
    let first_read = first_read.unwrap_or_else(|| quote!(unreachable!()));
    let payload = quote!(#size - 1);
    quote! {
        #[doc = #doc]
        #attrs
        #vis struct #wire {
            /// The variant's index.
            pub tag: u8,
            /// The variant's fields from the start, then zeros.
            pub payload: [u8; #payload],
        }

        const _: () = {
            #(#variant_layouts)*

            assert!(
                1 + ::idl_types::wire::largest(&[#(#sizes),*]) == #size,
                #assert_msg
            );

            impl ::idl_types::wire::Fixed for #name {
                type Wire = #wire;
                const SIZE: usize = #size;
                const LAYOUT: u32 =
                    ::idl_types::wire::fingerprint::of_enum(#name_str, &[#(#prints),*]);

                #[inline]
                fn to_wire(&self) -> #wire {
                    let mut wire = #wire { tag: 0, payload: [0; #payload] };
                    match self {
                        #(#writes)*
                    }
                    wire
                }

                #[inline]
                fn check(wire: &#wire) -> ::core::result::Result<(), ::idl_types::wire::WireError> {
                    match wire.tag {
                        #(#checks,)*
                        found => Err(::idl_types::wire::WireError::new(found, #bad_tag)),
                    }
                }

                #[inline]
                fn read(wire: &#wire) -> Self {
                    // An unchecked unknown tag reads as the first variant:
                    // never undefined behaviour, and `check` refuses it.
                    match wire.tag {
                        #(#reads,)*
                        _ => #first_read,
                    }
                }

                // One pass, one `match` on the tag.
                #[inline]
                fn read_valid(wire: &#wire) -> ::core::option::Option<Self> {
                    match wire.tag {
                        #(#decodes)*
                        _ => None,
                    }
                }
            }
        };
    }
}
