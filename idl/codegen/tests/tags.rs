//! The interface tag covers every operation's encoding: any change that
//! changes the bytes on the wire changes the tag (so mismatched builds
//! refuse each other), and nothing else does.

use idl_codegen::interface_id_of_source;

fn tag(body: &str) -> u16 {
    let source = format!("interface Probe {{\n{body}\n}}\n");
    interface_id_of_source("probe.idl", &source).unwrap_or_else(|e| panic!("{e}"))
}

const BASE: &str = "op 1 get(device: Bdf, on: bool) -> DidGrant ! DomidError;";

#[test]
fn documentation_and_flags_do_not_change_the_tag() {
    assert_eq!(tag(BASE), tag(&format!("/// Gets.\n{BASE}")));
    assert_eq!(
        tag(BASE),
        tag("op 1 get(device: Bdf, on: bool) -> DidGrant ! DomidError [idempotent, callers = [broker]];")
    );
}

#[test]
fn every_change_to_an_operations_bytes_changes_the_tag() {
    let base = tag(BASE);
    let variants = [
        // Another argument type of another size.
        "op 1 get(device: Bdf, on: u8) -> DidGrant ! DomidError;",
        // The same size, another layout (a DID for a domain).
        "op 1 get(device: Bdf, on: bool) -> DidRelease ! DomidError;",
        // Arguments in another order.
        "op 1 get(on: bool, device: Bdf) -> DidGrant ! DomidError;",
        // An argument renamed (its meaning may have changed).
        "op 1 get(function: Bdf, on: bool) -> DidGrant ! DomidError;",
        // Another error.
        "op 1 get(device: Bdf, on: bool) -> DidGrant ! PciError;",
        // No error.
        "op 1 get(device: Bdf, on: bool) -> DidGrant;",
        // Another number.
        "op 2 get(device: Bdf, on: bool) -> DidGrant ! DomidError;",
        // Postcard instead of fixed layouts (a list makes it variable).
        "op 1 get(device: Bdf, on: bool) -> RmrrList ! DomidError;",
        // A lease added.
        "op 1 get(device: Bdf, on: bool, out: &mut [u8] max 8) -> DidGrant ! DomidError;",
    ];
    let mut seen = std::collections::BTreeSet::from([base]);
    for v in variants {
        assert!(seen.insert(tag(v)), "{v} has a tag already seen");
    }
}

#[test]
fn a_same_sized_named_type_with_another_layout_changes_the_tag() {
    // DomainId and Did are both one u16: only the layout fingerprint, which
    // names the type, tells them apart.
    assert_ne!(tag("op 1 a(x: DomainId);"), tag("op 1 a(x: Did);"));
    assert_ne!(tag("op 1 a(x: u16);"), tag("op 1 a(x: i16);"));
}
