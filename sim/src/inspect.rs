//! `cargo xtask sim --dmar FILE...`: would custody hold on this machine?
//!
//! For each DMAR table (a user's `/sys/firmware/acpi/tables/DMAR`, a
//! fixture, anything) the simulator builds the machine the table describes,
//! runs the exhaustive fault matrix over every device kind that machine
//! has, then the seeded random workload on it, and says in a few lines what
//! it found: units, devices, RMRRs, what it refused or worked around
//! (firmware quirks, structures custody does not act on, capacities that
//! left something out, naming the app.toml key that raises them), and the
//! transactions, faults and invariant violations.
//!
//! A file that cannot be read, parsed or built into a machine is one error
//! line and the run goes on with the next file. The simulation of a file
//! runs behind `catch_unwind`: a panic anywhere in it (a bug) is reported
//! as that file's error instead of ending the run.

use std::panic::{catch_unwind, AssertUnwindSafe};

use acpi::dmar::{Dmar, Structure};
use acpi::quirks;
use task_broker::Knobs;

use crate::platform::{Builder, Platform};
use crate::run::{run_matrix_of, run_random, Fixtures, Kind, KINDS};

/// What one file gave.
#[derive(Debug, Default)]
pub struct Inspection {
    /// The report, a line each.
    pub lines: Vec<String>,
    /// Matrix cells run.
    pub cells: usize,
    /// Transactions simulated.
    pub transactions: u64,
    /// Faults injected.
    pub faults: u64,
    /// Invariant violations, in full.
    pub violations: Vec<String>,
}

/// The structures of a table custody does not act on, and its warnings.
fn table_notes(dmar: &Dmar<'_>) -> (Vec<String>, Vec<String>) {
    let mut counts = [0usize; 6];
    let mut other_segments = Vec::new();
    for s in dmar.structures().flatten() {
        match s {
            Structure::Drhd(d) if d.segment() != 0 => other_segments.push(d.segment()),
            Structure::Drhd(_) | Structure::Rmrr(_) => {}
            Structure::Atsr(_) => counts[0] += 1,
            Structure::Rhsa(_) => counts[1] += 1,
            Structure::Andd(_) => counts[2] += 1,
            Structure::Satc(_) => counts[3] += 1,
            Structure::Unknown(_) => counts[4] += 1,
        }
    }
    let mut refused = Vec::new();
    if !other_segments.is_empty() {
        other_segments.sort_unstable();
        other_segments.dedup();
        refused.push(format!(
            "remapping units on PCI segment(s) {other_segments:?} are not driven (segment 0 only)"
        ));
    }
    let names = [
        "ATSR (no ATS device-IOTLB invalidation yet)",
        "RHSA (NUMA affinity, not used)",
        "ANDD (ACPI namespace devices are not movable)",
        "SATC (no ATS)",
        "unknown structure (skipped by length)",
    ];
    for (n, name) in counts.iter().zip(names) {
        if *n > 0 {
            refused.push(format!("{n} x {name}"));
        }
    }
    let mut warnings = Vec::new();
    quirks::check(dmar, &[], &mut |w| warnings.push(w.to_string()));
    (refused, warnings)
}

/// A summary of the machine: units, devices by kind, RMRRs.
fn machine_line(p: &Platform) -> String {
    let of = |k: Kind| p.devices.iter().filter(|d| k.matches(d, p)).count();
    let rmrrs: std::collections::BTreeSet<(u64, u64)> = p
        .devices
        .iter()
        .flat_map(|d| d.rmrrs.iter().map(|r| (r.base, r.end)))
        .collect();
    format!(
        "machine: {} remapping units, {} functions, {} movable devices ({} endpoints, {} with RMRR, {} behind PCIe-to-PCI bridges, {} with phantom functions), {} RMRR ranges",
        p.units,
        p.layout.functions().len(),
        p.devices.len(),
        of(Kind::Endpoint),
        of(Kind::EndpointWithRmrr) + of(Kind::LegacyWithRmrr),
        of(Kind::Legacy) + of(Kind::LegacyWithRmrr),
        of(Kind::Phantom),
        rmrrs.len()
    )
}

/// The machine a table describes, and the report's first lines: the
/// machine, what was worked around, what was refused.
pub fn describe(name: &str, bytes: &[u8]) -> Result<(Platform, Vec<String>), String> {
    let dmar = Dmar::parse(bytes).map_err(|e| format!("not a usable DMAR table: {e}"))?;
    let (refused, warnings) = table_notes(&dmar);
    // The table's own machine: type-2 scopes as PCIe-to-PCI bridges, so
    // the seed's alias rules are exercised where the table allows them.
    let platform = Builder::from_dmar(name, bytes.to_vec(), |_| true)
        .and_then(|b| b.finish(true))
        .map_err(|e| format!("cannot build the machine it describes: {e}"))?;
    let mut lines = vec![machine_line(&platform)];
    for w in &warnings {
        lines.push(format!("worked around: {w}"));
    }
    for n in &platform.notes {
        lines.push(format!("worked around: {n}"));
    }
    for r in refused.iter().chain(&platform.limits) {
        lines.push(format!("refused: {r}"));
    }
    Ok((platform, lines))
}

/// Inspects one table: `name` for the report, `bytes` its contents; the
/// matrix over every device kind the machine has, then `seeds` seeds of
/// `len` requests from `first`.
pub fn inspect(
    name: &str,
    bytes: Vec<u8>,
    first: u64,
    seeds: u64,
    len: usize,
) -> Result<Inspection, String> {
    let (platform, lines) = describe(name, &bytes)?;
    let mut out = Inspection {
        lines,
        ..Inspection::default()
    };
    let knobs = Knobs::default();
    let present: Vec<Kind> = KINDS
        .iter()
        .copied()
        .filter(|k| platform.find(|d| k.matches(d, &platform)).is_some())
        .collect();
    let (cells, matrix) = run_matrix_of(&platform, &present, knobs);
    out.lines.push(format!(
        "fault matrix: {cells} cells over {} device kinds ({:?})",
        present.len(),
        present
    ));
    let fixtures = Fixtures {
        parsed: vec![(name.to_string(), bytes)],
        skipped: Vec::new(),
    };
    let random = run_random(&fixtures, first, seeds, len, knobs);
    out.lines.push(format!(
        "random workload: {seeds} seeds x {len} requests from seed {first}"
    ));
    out.cells = cells;
    out.transactions = matrix.transactions + random.transactions;
    out.faults = matrix.faults + random.faults;
    out.violations = matrix
        .violations
        .into_iter()
        .chain(random.violations)
        .collect();
    out.lines.push(format!(
        "transactions: {}, faults injected: {}, invariant violations: {}",
        out.transactions,
        out.faults,
        out.violations.len()
    ));
    Ok(out)
}

/// [`inspect`] on a file, never panicking: a panic is that file's error.
pub fn inspect_file(path: &str, first: u64, seeds: u64, len: usize) -> Result<Inspection, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let name = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(|| {
        inspect(&name, bytes, first, seeds, len)
    }));
    std::panic::set_hook(previous);
    match result {
        Ok(r) => r,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            Err(format!(
                "the simulator failed on this table (a bug, please report it with the file): {why}"
            ))
        }
    }
}
