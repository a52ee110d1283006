//! `cargo xtask sim --dmar FILE...`: any table, a report per file, a bad
//! file never stops the run, and a table beyond the build's capacities
//! names the limit and the app.toml key that raises it.

use sim::inspect::{inspect, inspect_file};

/// DMAR header: signature, length, revision, checksum, OEM fields, host
/// address width, flags, reserved.
const HEADER_LEN: usize = 48;
/// A DRHD with one endpoint scope (8 bytes) after its 16-byte body.
const DRHD_LEN: usize = 16 + 8;

/// A DMAR table of `units` remapping units, each covering one endpoint on
/// bus 0 (device 1 + its index), register sets 4 KiB apart.
fn table_of_units(units: u8) -> Vec<u8> {
    let len = HEADER_LEN + DRHD_LEN * usize::from(units);
    let mut t = vec![0u8; HEADER_LEN];
    t[0..4].copy_from_slice(b"DMAR");
    t[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    t[8] = 1;
    t[10..16].copy_from_slice(b"CUSTDY");
    t[36] = 38; // host address width 39 bits
    for i in 0..units {
        let mut drhd = vec![0u8; DRHD_LEN];
        drhd[2..4].copy_from_slice(&(DRHD_LEN as u16).to_le_bytes());
        let base = 0xfed9_0000u64 + u64::from(i) * 0x1000;
        drhd[8..16].copy_from_slice(&base.to_le_bytes());
        // Endpoint scope: type 1, length 8, start bus 0, path (1 + i, 0).
        drhd[16] = 1;
        drhd[17] = 8;
        drhd[21] = 0;
        drhd[22] = 1 + i;
        drhd[23] = 0;
        t.extend_from_slice(&drhd);
    }
    let sum = t.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

#[test]
fn a_table_beyond_the_unit_capacity_names_the_limit_and_the_key() {
    let units = capacity::UNITS.value + 4;
    let report = inspect("big-server", table_of_units(units as u8), 1, 1, 4).expect("inspected");
    let limit = report
        .lines
        .iter()
        .find(|l| l.starts_with("refused: units"))
        .unwrap_or_else(|| panic!("no capacity line in {:#?}", report.lines));
    assert!(
        limit.contains(&format!("{units} remapping units needed"))
            && limit.contains(&format!("[capacity] units = {units}")),
        "{limit}"
    );
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn a_table_within_the_capacities_is_simulated_with_no_refusal() {
    let report = inspect("small", table_of_units(2), 1, 2, 6).expect("inspected");
    assert!(
        report.lines.iter().all(|l| !l.starts_with("refused")),
        "{:#?}",
        report.lines
    );
    assert!(
        report.lines[0].starts_with("machine: 2 remapping units"),
        "{}",
        report.lines[0]
    );
    assert!(report.cells > 0 && report.transactions > 0);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn unreadable_and_malformed_files_are_one_clear_error_each() {
    let missing = inspect_file("/nonexistent/DMAR", 1, 1, 4).unwrap_err();
    assert!(missing.starts_with("cannot read:"), "{missing}");
    let dir = std::env::temp_dir().join(format!("custody-sim-dmar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let not_dmar = dir.join("not-dmar.bin");
    std::fs::write(
        &not_dmar,
        b"this is not an ACPI table at all, not even close",
    )
    .expect("write");
    let e = inspect_file(&not_dmar.to_string_lossy(), 1, 1, 4).unwrap_err();
    assert!(e.starts_with("not a usable DMAR table: offset 0x0"), "{e}");
    let mut truncated = table_of_units(3);
    truncated.truncate(HEADER_LEN + 5);
    let cut = dir.join("truncated.bin");
    std::fs::write(&cut, &truncated).expect("write");
    let e = inspect_file(&cut.to_string_lossy(), 1, 1, 4).unwrap_err();
    assert!(e.starts_with("not a usable DMAR table"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_dmar_command_goes_on_after_a_bad_file_and_fails_the_run() {
    let qemu = sim::fixtures::dir().join("qemu-7.2-q35-edu-bridge.bin");
    let args: Vec<String> = [
        "--seeds",
        "1",
        "--dmar",
        "/nonexistent/DMAR",
        &qemu.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // One bad file: exit 1 (the good one still ran; its report is printed).
    assert_eq!(sim::cli(&args), 1);
    let only_good: Vec<String> = ["--dmar", &qemu.to_string_lossy()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(sim::cli(&only_good), 0);
    assert_eq!(sim::cli(&["--dmar".to_string()]), 2);
}

#[test]
fn every_fixture_table_builds_its_machine_for_the_dmar_report() {
    for name in sim::fixtures::names() {
        let bytes = sim::fixtures::load(&name).expect("fixture");
        let (platform, lines) =
            sim::inspect::describe(&name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(lines[0].starts_with("machine: "), "{name}: {lines:?}");
        assert!(platform.limits.is_empty(), "{name}: {:?}", platform.limits);
    }
}
