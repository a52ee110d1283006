//! DMAR reports for people and programs, and `cargo xtask dmar` (host only,
//! `std` feature).
//!
//! ## `cargo xtask dmar [--json] [FILE...]`
//!
//! Decodes each DMAR table file (default `/sys/firmware/acpi/tables/DMAR`,
//! readable by root) and prints it: as an indented tree, or with `--json` as
//! one JSON object per line. A file that cannot be read or parsed prints one
//! line with its error (`FILE: error: ...`, or `{"file":...,"error":...}`)
//! and the other files are still printed; the exit code is 1 if any file
//! failed, 2 for a bad command line, else 0. Warnings (firmware quirks) do
//! not fail a file.
//!
//! ## JSON fields
//!
//! One object per file, on one line. Every number is a JSON integer
//! (addresses too: they fit in 64 bits; a consumer in a language with 53-bit
//! floats must parse them as big integers). Strings from the table are ASCII
//! with other bytes written `\xNN`.
//!
//! - `file`: the path as given.
//! - Table header: `signature` ("DMAR"), `length`, `revision`, `checksum`,
//!   `oem_id`, `oem_table_id`, `oem_revision`, `creator_id`,
//!   `creator_revision` (iasl's "Asl Compiler ID/Revision").
//! - `host_address_width`: the platform's DMA address width in bits (the
//!   table field plus one); `host_address_width_field`: the raw field.
//! - `flags`: the raw flags byte; `intr_remap`, `x2apic_opt_out`,
//!   `dma_ctrl_platform_opt_in`: its bits.
//! - `structures`: the remapping structures in table order. Each has `type`
//!   (`"drhd"`, `"rmrr"`, `"atsr"`, `"rhsa"`, `"andd"`, `"satc"`,
//!   `"unknown"`), `offset` (byte offset in the table) and `length`, then:
//!   - drhd: `flags`, `include_pci_all`, `size_field` (raw), `register_set_size`
//!     (bytes), `segment`, `register_base`, `scopes`;
//!   - rmrr: `segment`, `base`, `end` (inclusive), `size` (bytes, `null` if
//!     end < base), `scopes`;
//!   - atsr: `flags`, `all_ports`, `segment`, `scopes`;
//!   - rhsa: `register_base`, `proximity_domain`;
//!   - andd: `device_number`, `name` (ACPI namespace path);
//!   - satc: `flags`, `atc_required`, `segment`, `scopes`;
//!   - unknown: `type_code`.
//! - A scope: `type` (`"endpoint"`, `"bridge"`, `"ioapic"`, `"hpet"`,
//!   `"acpi-namespace"`, `"unknown"`), `type_code`, `offset`, `length`,
//!   `enumeration_id`, `start_bus`, `path` (a list of `[device, function]`).
//! - `warnings`: firmware quirks as sentences (see `acpi::quirks::Warning`).

mod json;
mod text;

use std::format;
use std::io::Write;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::dmar::Dmar;
use crate::quirks;

/// Where the running kernel exposes the firmware's DMAR.
pub const DEFAULT_DMAR_PATH: &str = "/sys/firmware/acpi/tables/DMAR";

fn parse_with_warnings(bytes: &[u8]) -> Result<(Dmar<'_>, Vec<String>), String> {
    let dmar = Dmar::parse(bytes).map_err(|e| e.to_string())?;
    let mut warnings = Vec::new();
    quirks::check(&dmar, &[], &mut |w| warnings.push(w.to_string()));
    Ok((dmar, warnings))
}

/// The table as a readable tree, warnings last. `Err` holds the parse error.
pub fn render_text(name: &str, bytes: &[u8]) -> Result<String, String> {
    let (dmar, warnings) = parse_with_warnings(bytes)?;
    Ok(text::render(name, &dmar, &warnings))
}

/// The table as one line of JSON (fields in the module doc). `Err` holds
/// the parse error.
pub fn render_json(name: &str, bytes: &[u8]) -> Result<String, String> {
    let (dmar, warnings) = parse_with_warnings(bytes)?;
    json::render(name, &dmar, warnings)
}

/// `cargo xtask dmar [--json] [FILE...]` (the command line is xtask's):
/// prints each file (this machine's table when `files` is empty) to stdout
/// and returns the exit code: 1 if any file failed.
pub fn dmar_command(json: bool, files: &[String]) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    dmar_command_to(json, files, &mut out)
}

/// What to do when this machine's DMAR can't be read: the reason in the
/// user's terms, and what would work instead.
fn default_table_advice(e: &std::io::Error) -> String {
    let instead =
        "or pass a FILE, e.g. `cargo xtask dmar fixtures/dmar/qemu-7.2-q35-edu-bridge.bin`";
    match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "this machine has no DMAR table (no Intel VT-d, VT-d off in the firmware setup, \
             or not Linux): run on a VT-d machine, {instead}"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "reading the firmware's tables needs root: run `sudo cargo xtask dmar`, or copy it \
             (`sudo cp {DEFAULT_DMAR_PATH} my.dmar && sudo chown $USER my.dmar`) and pass \
             my.dmar, {instead}"
        ),
        _ => format!("cannot read: {e}; {instead}"),
    }
}

/// [`dmar_command`] writing to the given stream (for tests).
pub fn dmar_command_to(json: bool, files: &[String], out: &mut dyn Write) -> i32 {
    let default = [DEFAULT_DMAR_PATH.to_string()];
    let files = if files.is_empty() {
        &default[..]
    } else {
        files
    };
    let this_machine = files == default;
    let mut failed = false;
    for (i, name) in files.iter().enumerate() {
        let rendered = std::fs::read(name)
            .map_err(|e| {
                if this_machine {
                    default_table_advice(&e)
                } else {
                    format!("cannot read: {e}")
                }
            })
            .and_then(|bytes| {
                if json {
                    render_json(name, &bytes)
                } else {
                    render_text(name, &bytes)
                }
            });
        let line = match rendered {
            Ok(text) => text,
            Err(message) => {
                failed = true;
                if json {
                    json::error_line(name, &message)
                } else {
                    format!("{name}: error: {message}")
                }
            }
        };
        let separator = if !json && i > 0 { "\n" } else { "" };
        let _ = writeln!(out, "{separator}{}", line.trim_end());
    }
    i32::from(failed)
}

#[cfg(test)]
mod tests {
    use super::default_table_advice;
    use std::io::{Error, ErrorKind};

    #[test]
    fn a_machine_without_a_dmar_is_told_to_use_a_vtd_machine_or_a_file() {
        let advice = default_table_advice(&Error::from(ErrorKind::NotFound));
        assert!(advice.contains("no DMAR table"), "{advice}");
        assert!(advice.contains("pass a FILE"), "{advice}");
    }

    #[test]
    fn an_unprivileged_user_is_told_to_run_as_root_or_copy_the_table() {
        let advice = default_table_advice(&Error::from(ErrorKind::PermissionDenied));
        assert!(advice.contains("sudo cargo xtask dmar"), "{advice}");
        assert!(advice.contains("sudo cp"), "{advice}");
    }
}
