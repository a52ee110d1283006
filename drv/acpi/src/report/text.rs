//! The text rendering: the table as an indented tree, one line per
//! structure and one per scope, warnings last. Meant for people; the JSON
//! rendering is the one to parse.

use std::fmt::Write;
use std::format;
use std::string::String;

use crate::dmar::{DeviceScope, Dmar, ScopeType, Scopes, Structure};
use crate::error::Ascii;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A byte count in the largest binary unit that divides it exactly, so a
/// size reads as what it is ("72 MiB", "52 KiB", "4100 B").
pub(crate) fn human_size(bytes: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} B")
}

fn scope_line(out: &mut String, label: &str, s: &DeviceScope<'_>) {
    let what = match s.kind() {
        ScopeType::IoApic => format!(" (IOAPIC id {})", s.enumeration_id()),
        ScopeType::Hpet => format!(" (HPET number {})", s.enumeration_id()),
        ScopeType::AcpiNamespace => format!(" (ANDD device {})", s.enumeration_id()),
        ScopeType::Unknown(code) => {
            format!(" (type code {code}, enumeration id {})", s.enumeration_id())
        }
        ScopeType::PciEndpoint | ScopeType::PciSubHierarchy if s.enumeration_id() != 0 => {
            format!(" (enumeration id {})", s.enumeration_id())
        }
        _ => String::new(),
    };
    let _ = writeln!(out, "    {label} {:<14} {s}{what}", s.kind().name());
}

fn scope_lines(out: &mut String, label: &str, scopes: Scopes<'_>) {
    for scope in scopes.filter_map(Result::ok) {
        scope_line(out, label, &scope);
    }
}

fn structure(out: &mut String, s: Structure<'_>) {
    let at = s.offset();
    match s {
        Structure::Drhd(d) => {
            let all = if d.include_pci_all() {
                " INCLUDE_PCI_ALL"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  [{at:#05x}] DRHD segment {:04x} registers {:#x} ({}) flags {:#04x}{all}",
                d.segment(),
                d.register_base(),
                human_size(d.register_set_size()),
                d.flags()
            );
            scope_lines(out, "scope ", d.scopes());
        }
        Structure::Rmrr(r) => {
            let size = r
                .size()
                .map(human_size)
                .unwrap_or_else(|| String::from("invalid size"));
            let _ = writeln!(
                out,
                "  [{at:#05x}] RMRR segment {:04x} [{:#x}-{:#x}] {size}",
                r.segment(),
                r.base(),
                r.end()
            );
            scope_lines(out, "device", r.scopes());
        }
        Structure::Atsr(a) => {
            let all = if a.all_ports() { " ALL_PORTS" } else { "" };
            let _ = writeln!(
                out,
                "  [{at:#05x}] ATSR segment {:04x} flags {:#04x}{all}",
                a.segment(),
                a.flags()
            );
            scope_lines(out, "port  ", a.scopes());
        }
        Structure::Rhsa(r) => {
            let _ = writeln!(
                out,
                "  [{at:#05x}] RHSA unit registers {:#x} proximity domain {}",
                r.register_base(),
                r.proximity_domain()
            );
        }
        Structure::Andd(a) => {
            let _ = writeln!(
                out,
                "  [{at:#05x}] ANDD device {} \"{}\"",
                a.device_number(),
                Ascii(a.name())
            );
        }
        Structure::Satc(s) => {
            let required = if s.atc_required() {
                " ATC_REQUIRED"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  [{at:#05x}] SATC segment {:04x} flags {:#04x}{required}",
                s.segment(),
                s.flags()
            );
            scope_lines(out, "device", s.scopes());
        }
        Structure::Unknown(u) => {
            let _ = writeln!(
                out,
                "  [{at:#05x}] unknown structure type {} ({} bytes, skipped)",
                u.kind,
                u.bytes.len()
            );
        }
    }
}

/// See [`super::render_text`].
pub(super) fn render(name: &str, dmar: &Dmar<'_>, warnings: &[String]) -> String {
    let h = dmar.header();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}: DMAR revision {}, {} bytes",
        h.revision(),
        h.length()
    );
    let _ = writeln!(
        out,
        "  OEM \"{}\" \"{}\" revision {:#x}, creator \"{}\" revision {:#x}, checksum {:#04x}",
        Ascii::padded(h.oem_id()),
        Ascii::padded(h.oem_table_id()),
        h.oem_revision(),
        Ascii::padded(h.creator_id()),
        h.creator_revision(),
        h.checksum()
    );
    let _ = writeln!(
        out,
        "  host address width {} bits, flags {}",
        dmar.host_address_width(),
        dmar.flags()
    );
    for s in dmar.checked_structures() {
        structure(&mut out, s);
    }
    if !warnings.is_empty() {
        let _ = writeln!(out, "  warnings:");
        for w in warnings {
            let _ = writeln!(out, "    {w}");
        }
    }
    out
}
