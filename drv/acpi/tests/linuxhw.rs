//! Every real DMAR in `fixtures/dmar/linuxhw` parsed and compared,
//! field by field, with Intel iasl's decoding of the same bytes (the `.dsl`
//! beside it): an oracle independent of this parser.
//!
//! The `.dsl` is read here with a small parser of iasl's listing lines
//! (`[OFFh DDDD LEN]  Field Name : value`). Every field iasl prints must be
//! known to the comparison below, so a field this test does not check makes
//! it fail instead of being skipped silently.

mod common;

use acpi::dmar::{DeviceScope, Structure};
use acpi::error::Ascii;
use acpi::Dmar;

/// One listing line: table offset, field name, value text.
struct Field {
    offset: usize,
    name: String,
    value: String,
}

#[derive(Default)]
struct DslScope {
    offset: usize,
    fields: Vec<Field>,
    path: Vec<(u8, u8)>,
}

#[derive(Default)]
struct DslStructure {
    offset: usize,
    fields: Vec<Field>,
    scopes: Vec<DslScope>,
}

#[derive(Default)]
struct DslTable {
    header: Vec<Field>,
    structures: Vec<DslStructure>,
}

fn parse_line(line: &str) -> Option<Field> {
    let rest = line.strip_prefix('[')?;
    let (position, rest) = rest.split_once(']')?;
    let offset_hex = position.split_whitespace().next()?.strip_suffix('h')?;
    let offset = usize::from_str_radix(offset_hex, 16).ok()?;
    let (name, value) = rest.split_once(" : ")?;
    Some(Field {
        offset,
        name: name.trim().to_string(),
        value: value.trim().to_string(),
    })
}

fn parse_dsl(text: &str) -> DslTable {
    let mut table = DslTable::default();
    for field in text.lines().filter_map(parse_line) {
        match field.name.as_str() {
            "Subtable Type" => table.structures.push(DslStructure {
                offset: field.offset,
                fields: vec![field],
                scopes: Vec::new(),
            }),
            _ if table.structures.is_empty() => table.header.push(field),
            "Device Scope Type" => {
                let s = table.structures.last_mut().unwrap();
                s.scopes.push(DslScope {
                    offset: field.offset,
                    fields: vec![field],
                    path: Vec::new(),
                });
            }
            "PCI Path" => {
                let scope = table
                    .structures
                    .last_mut()
                    .unwrap()
                    .scopes
                    .last_mut()
                    .unwrap();
                let (d, f) = field.value.split_once(',').expect("PCI Path d,f");
                scope.path.push((hex(d) as u8, hex(f) as u8));
            }
            _ => {
                let s = table.structures.last_mut().unwrap();
                match s.scopes.last_mut() {
                    Some(scope) => scope.fields.push(field),
                    None => s.fields.push(field),
                }
            }
        }
    }
    table
}

/// The leading hex number of a value ("0000 [Hardware Unit Definition]").
fn hex(value: &str) -> u64 {
    let token = value.split_whitespace().next().unwrap_or("");
    u64::from_str_radix(token, 16).unwrap_or_else(|_| panic!("not hex: {value:?}"))
}

/// The text between the first and the last double quote
/// (`"DMAR"    [DMA Remapping Table]` gives `DMAR`).
fn quoted(value: &str) -> &str {
    let start = value.find('"').map_or(0, |i| i + 1);
    let end = value
        .rfind('"')
        .filter(|&e| e >= start)
        .unwrap_or(value.len());
    &value[start..end]
}

/// Compares one field; `what` names the place for the failure message.
fn expect(what: &str, field: &Field, actual: u64) {
    assert_eq!(
        hex(&field.value),
        actual,
        "{what}: field {:?} at {:#x}: iasl says {}, parser {actual:#x}",
        field.name,
        field.offset,
        field.value
    );
}

/// iasl prints fixed-size strings up to their first NUL, with other
/// unprintable bytes as spaces.
fn expect_text(what: &str, field: &Field, actual: &[u8]) {
    let actual = actual.split(|&b| b == 0).next().unwrap_or(actual);
    let printable: Vec<u8> = actual
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b } else { b' ' })
        .collect();
    assert_eq!(
        quoted(&field.value),
        Ascii(&printable).to_string(),
        "{what}: field {:?} at {:#x}",
        field.name,
        field.offset
    );
}

fn check_header(what: &str, dsl: &DslTable, dmar: &Dmar<'_>) {
    let h = dmar.header();
    for f in &dsl.header {
        match f.name.as_str() {
            "Signature" => expect_text(what, f, &h.signature()),
            "Table Length" => expect(what, f, h.length().into()),
            "Revision" => expect(what, f, h.revision().into()),
            "Checksum" => expect(what, f, h.checksum().into()),
            "Oem ID" => expect_text(what, f, h.oem_id()),
            "Oem Table ID" => expect_text(what, f, h.oem_table_id()),
            "Oem Revision" => expect(what, f, h.oem_revision().into()),
            "Asl Compiler ID" => expect_text(what, f, h.creator_id()),
            "Asl Compiler Revision" => expect(what, f, h.creator_revision().into()),
            "Host Address Width" => expect(what, f, dmar.host_address_width_field().into()),
            "Flags" => expect(what, f, dmar.flags().0.into()),
            // The 10 reserved bytes after the flags; the parser does not
            // expose them (they carry nothing), check iasl saw zeros.
            "Reserved" => assert!(
                f.value.split_whitespace().all(|b| b == "00"),
                "{what}: reserved"
            ),
            other => panic!("{what}: header field {other:?} not compared"),
        }
    }
}

fn check_scope(what: &str, dsl: &DslScope, scope: &DeviceScope<'_>) {
    assert_eq!(dsl.offset, scope.offset(), "{what}: scope offset");
    for f in &dsl.fields {
        let what = &format!("{what}, scope at {:#x}", scope.offset());
        match f.name.as_str() {
            "Device Scope Type" => expect(what, f, scope.kind_code().into()),
            "Entry Length" => expect(what, f, scope.length().into()),
            "Reserved" => expect(what, f, scope.flags().into()),
            "Enumeration ID" => expect(what, f, scope.enumeration_id().into()),
            "PCI Bus Number" => expect(what, f, scope.start_bus().into()),
            other => panic!("{what}: scope field {other:?} not compared"),
        }
    }
    let path: Vec<(u8, u8)> = scope
        .path()
        .iter()
        .map(|p| (p.device, p.function))
        .collect();
    assert_eq!(
        dsl.path,
        path,
        "{what}: scope at {:#x} path",
        scope.offset()
    );
}

/// The parser's value for a structure field iasl names, or `None` if the
/// structure has no such field.
fn structure_field(s: &Structure<'_>, name: &str) -> Option<u64> {
    Some(match (s, name) {
        (_, "Subtable Type") => s.kind().into(),
        (Structure::Drhd(d), "Length") => d.length().into(),
        (Structure::Drhd(d), "Flags") => d.flags().into(),
        (Structure::Drhd(d), "Reserved") => d.size_field().into(),
        (Structure::Drhd(d), "PCI Segment Number") => d.segment().into(),
        (Structure::Drhd(d), "Register Base Address") => d.register_base(),
        (Structure::Rmrr(r), "Length") => r.length().into(),
        (Structure::Rmrr(r), "Reserved") => r.reserved().into(),
        (Structure::Rmrr(r), "PCI Segment Number") => r.segment().into(),
        (Structure::Rmrr(r), "Base Address") => r.base(),
        (Structure::Rmrr(r), "End Address (limit)") => r.end(),
        (Structure::Atsr(a), "Length") => a.length().into(),
        (Structure::Atsr(a), "Flags") => a.flags().into(),
        (Structure::Atsr(_), "Reserved") => 0,
        (Structure::Atsr(a), "PCI Segment Number") => a.segment().into(),
        (Structure::Rhsa(r), "Length") => r.length().into(),
        (Structure::Rhsa(_), "Reserved") => 0,
        (Structure::Rhsa(r), "Base Address") => r.register_base(),
        (Structure::Rhsa(r), "Proximity Domain") => r.proximity_domain().into(),
        (Structure::Andd(a), "Length") => a.length().into(),
        (Structure::Andd(_), "Reserved") => 0,
        (Structure::Andd(a), "Device Number") => a.device_number().into(),
        (Structure::Satc(s), "Length") => s.length().into(),
        (Structure::Satc(s), "Flags") => s.flags().into(),
        (Structure::Satc(_), "Reserved") => 0,
        (Structure::Satc(s), "PCI Segment Number") => s.segment().into(),
        (Structure::Unknown(u), "Length") => u.bytes.len() as u64,
        _ => return None,
    })
}

#[test]
fn every_linuxhw_table_matches_its_iasl_decoding() {
    let tables = common::linuxhw_tables();
    assert!(
        tables.len() >= 180,
        "expected the 180 linuxhw fixtures, found {}",
        tables.len()
    );
    let (mut structures, mut scopes) = (0usize, 0usize);
    let mut kinds = [0usize; 7];
    for (hwid, bin, dsl_text) in &tables {
        let dmar = Dmar::parse(bin).unwrap_or_else(|e| panic!("{hwid}: {e}"));
        let dsl = parse_dsl(dsl_text);
        check_header(hwid, &dsl, &dmar);
        let parsed: Vec<Structure<'_>> = dmar.structures().map(|s| s.unwrap()).collect();
        assert_eq!(
            dsl.structures.len(),
            parsed.len(),
            "{hwid}: structure count"
        );
        for (want, got) in dsl.structures.iter().zip(&parsed) {
            let what = format!("{hwid}, structure at {:#x}", want.offset);
            assert_eq!(want.offset, got.offset(), "{what}: offset");
            for f in &want.fields {
                match (got, f.name.as_str()) {
                    (Structure::Andd(a), "Device Name") => expect_text(&what, f, a.name()),
                    (_, name) => {
                        let actual = structure_field(got, name)
                            .unwrap_or_else(|| panic!("{what}: field {name:?} not compared"));
                        expect(&what, f, actual);
                    }
                }
            }
            let got_scopes: Vec<DeviceScope<'_>> = got.scopes().map(|s| s.unwrap()).collect();
            assert_eq!(want.scopes.len(), got_scopes.len(), "{what}: scope count");
            for (w, g) in want.scopes.iter().zip(&got_scopes) {
                check_scope(&what, w, g);
            }
            structures += 1;
            scopes += got_scopes.len();
            kinds[usize::from(got.kind()).min(6)] += 1;
        }
    }
    println!(
        "linuxhw: {} tables, {structures} structures ({} DRHD, {} RMRR, {} ATSR, {} RHSA, {} ANDD, {} SATC, {} unknown), {scopes} scopes matched iasl",
        tables.len(),
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3],
        kinds[4],
        kinds[5],
        kinds[6]
    );
    // Each kind the fixtures hold was compared at least once.
    for (kind, count) in kinds.iter().enumerate().take(5) {
        assert!(*count > 0, "no structure of type {kind} compared");
    }
}

#[test]
fn every_linuxhw_table_renders_as_text_and_json() {
    for (hwid, bin, _) in common::linuxhw_tables() {
        let text = acpi::report::render_text(&hwid, &bin).unwrap();
        assert!(text.contains("DRHD"), "{hwid}: {text}");
        let json = acpi::report::render_json(&hwid, &bin).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let count = Dmar::parse(&bin).unwrap().structures().count();
        assert_eq!(
            value["structures"].as_array().unwrap().len(),
            count,
            "{hwid}"
        );
        assert!(!json.contains('\n'), "{hwid}: JSON must be one line");
    }
}
