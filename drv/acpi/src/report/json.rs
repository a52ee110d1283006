//! The JSON rendering: one object per table on one line, built from serde
//! types whose field order is the documented order (see the module doc of
//! `report`). Every number is a JSON integer, never a string or a float.

use std::string::{String, ToString};
use std::vec::Vec;

use serde::Serialize;

use crate::dmar::{DeviceScope, Dmar, Structure};
use crate::error::Ascii;

#[derive(Serialize)]
struct Table {
    file: String,
    signature: String,
    length: u32,
    revision: u8,
    checksum: u8,
    oem_id: String,
    oem_table_id: String,
    oem_revision: u32,
    creator_id: String,
    creator_revision: u32,
    host_address_width: u32,
    host_address_width_field: u8,
    flags: u8,
    intr_remap: bool,
    x2apic_opt_out: bool,
    dma_ctrl_platform_opt_in: bool,
    structures: Vec<JsonStructure>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum JsonStructure {
    Drhd {
        offset: usize,
        length: u16,
        flags: u8,
        include_pci_all: bool,
        size_field: u8,
        register_set_size: u64,
        segment: u16,
        register_base: u64,
        scopes: Vec<JsonScope>,
    },
    Rmrr {
        offset: usize,
        length: u16,
        segment: u16,
        base: u64,
        end: u64,
        size: Option<u64>,
        scopes: Vec<JsonScope>,
    },
    Atsr {
        offset: usize,
        length: u16,
        flags: u8,
        all_ports: bool,
        segment: u16,
        scopes: Vec<JsonScope>,
    },
    Rhsa {
        offset: usize,
        length: u16,
        register_base: u64,
        proximity_domain: u32,
    },
    Andd {
        offset: usize,
        length: u16,
        device_number: u8,
        name: String,
    },
    Satc {
        offset: usize,
        length: u16,
        flags: u8,
        atc_required: bool,
        segment: u16,
        scopes: Vec<JsonScope>,
    },
    Unknown {
        offset: usize,
        length: usize,
        type_code: u16,
    },
}

#[derive(Serialize)]
struct JsonScope {
    #[serde(rename = "type")]
    kind: &'static str,
    type_code: u8,
    offset: usize,
    length: u8,
    enumeration_id: u8,
    start_bus: u8,
    path: Vec<[u8; 2]>,
}

/// A fixed-size firmware string: up to its first NUL (padding), escaped.
fn text(bytes: &[u8]) -> String {
    Ascii::padded(bytes).to_string()
}

fn scopes<'a>(
    iter: impl Iterator<Item = Result<DeviceScope<'a>, crate::AcpiError>>,
) -> Vec<JsonScope> {
    iter.filter_map(Result::ok)
        .map(|s| JsonScope {
            kind: s.kind().name(),
            type_code: s.kind_code(),
            offset: s.offset(),
            length: s.length(),
            enumeration_id: s.enumeration_id(),
            start_bus: s.start_bus(),
            path: s
                .path()
                .iter()
                .map(|hop| [hop.device, hop.function])
                .collect(),
        })
        .collect()
}

fn structure(s: Structure<'_>) -> JsonStructure {
    match s {
        Structure::Drhd(d) => JsonStructure::Drhd {
            offset: d.offset(),
            length: d.length(),
            flags: d.flags(),
            include_pci_all: d.include_pci_all(),
            size_field: d.size_field(),
            register_set_size: d.register_set_size(),
            segment: d.segment(),
            register_base: d.register_base(),
            scopes: scopes(d.scopes()),
        },
        Structure::Rmrr(r) => JsonStructure::Rmrr {
            offset: r.offset(),
            length: r.length(),
            segment: r.segment(),
            base: r.base(),
            end: r.end(),
            size: r.size(),
            scopes: scopes(r.scopes()),
        },
        Structure::Atsr(a) => JsonStructure::Atsr {
            offset: a.offset(),
            length: a.length(),
            flags: a.flags(),
            all_ports: a.all_ports(),
            segment: a.segment(),
            scopes: scopes(a.scopes()),
        },
        Structure::Rhsa(r) => JsonStructure::Rhsa {
            offset: r.offset(),
            length: r.length(),
            register_base: r.register_base(),
            proximity_domain: r.proximity_domain(),
        },
        Structure::Andd(a) => JsonStructure::Andd {
            offset: a.offset(),
            length: a.length(),
            device_number: a.device_number(),
            name: text(a.name()),
        },
        Structure::Satc(s) => JsonStructure::Satc {
            offset: s.offset(),
            length: s.length(),
            flags: s.flags(),
            atc_required: s.atc_required(),
            segment: s.segment(),
            scopes: scopes(s.scopes()),
        },
        Structure::Unknown(u) => JsonStructure::Unknown {
            offset: u.offset,
            length: u.bytes.len(),
            type_code: u.kind,
        },
    }
}

/// See [`super::render_json`].
pub(super) fn render(name: &str, dmar: &Dmar<'_>, warnings: Vec<String>) -> Result<String, String> {
    let h = dmar.header();
    let flags = dmar.flags();
    let table = Table {
        file: name.to_string(),
        signature: text(&h.signature()),
        length: h.length(),
        revision: h.revision(),
        checksum: h.checksum(),
        oem_id: text(h.oem_id()),
        oem_table_id: text(h.oem_table_id()),
        oem_revision: h.oem_revision(),
        creator_id: text(h.creator_id()),
        creator_revision: h.creator_revision(),
        host_address_width: dmar.host_address_width(),
        host_address_width_field: dmar.host_address_width_field(),
        flags: flags.0,
        intr_remap: flags.intr_remap(),
        x2apic_opt_out: flags.x2apic_opt_out(),
        dma_ctrl_platform_opt_in: flags.dma_ctrl_platform_opt_in(),
        structures: dmar.checked_structures().map(structure).collect(),
        warnings,
    };
    serde_json::to_string(&table).map_err(|e| e.to_string())
}

/// The one-line object printed for a file that could not be rendered.
pub(super) fn error_line(name: &str, error: &str) -> String {
    #[derive(Serialize)]
    struct Failed<'a> {
        file: &'a str,
        error: &'a str,
    }
    serde_json::to_string(&Failed { file: name, error })
        .unwrap_or_else(|_| String::from("{\"error\":\"unprintable\"}"))
}
