//! `cargo xtask sim [--seeds N] [--seed S] [--platform NAME] [--double-stride K]`:
//! the fault matrix on QEMU's platform, then the double-fault matrix (a
//! second fault at every message of the recovery from each first fault;
//! `--double-stride K` takes every K-th first and second fault only, 0
//! skips it), then N seeds (default 20) of the random workload on every
//! fixture platform (or one seed, or one platform); ends with the counts
//! and exits non-zero on any invariant violation.
//!
//! `cargo xtask sim --dmar FILE...`: the same on any DMAR table instead of
//! the fixtures (see [`crate::inspect`]): a few lines per file.

use std::time::Instant;

use clap::Parser;

use task_broker::Knobs;

use crate::fixtures;
use crate::machine::Outcome;
use crate::platform::Platform;
use crate::run::{load_fixtures, run_double_matrix_of, run_matrix, run_random, KINDS};

/// Requests per seed.
const REQUESTS: usize = 12;
/// Seeds per platform by default.
const SEEDS: u64 = 20;
/// Violations printed in full.
const SHOWN: usize = 5;

/// The deterministic simulation of custody's tasks on the VT-d model, with
/// fault injection: the single- and double-fault matrices on QEMU's
/// platform, then N seeds of a random workload on every fixture platform
/// (or on the tables given with `--dmar`); exits 1 on any invariant
/// violation, 2 on a bad argument.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask sim", bin_name = "cargo xtask sim")]
struct Args {
    /// Seeds of the random workload per platform.
    #[arg(long, default_value_t = SEEDS, value_name = "N")]
    seeds: u64,
    /// Run this one seed only (instead of 1..=N).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Run on one fixture platform only (a file name in fixtures/dmar).
    #[arg(long, value_name = "NAME", conflicts_with = "dmar")]
    platform: Option<String>,
    /// Run on these DMAR tables instead of the fixtures, e.g. this
    /// machine's /sys/firmware/acpi/tables/DMAR: a few lines per file.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    dmar: Vec<String>,
    /// Take every K-th first and second fault of the double-fault matrix
    /// (1: all of it; 0: skip it).
    #[arg(long, default_value_t = 1, value_name = "K")]
    double_stride: usize,
}

impl Args {
    /// The first seed and how many to run.
    fn seeds(&self) -> (u64, u64) {
        match self.seed {
            Some(s) => (s, 1),
            None => (1, self.seeds),
        }
    }
}

/// Runs the simulator; 0 when no invariant was violated, 1 otherwise, 2 on
/// bad arguments.
pub fn cli(args: &[String]) -> i32 {
    let args = std::iter::once("sim".to_string()).chain(args.iter().cloned());
    let a = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            // Help and version go to stdout and succeed; mistakes name the
            // argument and fail with 2.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if !a.dmar.is_empty() {
        return dmar_files(&a);
    }
    let (first, seeds) = a.seeds();
    let start = Instant::now();
    let knobs = Knobs::default();
    let platform = match fixtures::load(fixtures::QEMU).and_then(Platform::matrix) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sim: matrix platform: {e}");
            return 1;
        }
    };
    let (cells, matrix) = run_matrix(&platform, knobs);
    let (double_cells, double) = match a.double_stride {
        0 => (0, Outcome::default()),
        k => run_double_matrix_of(&platform, &KINDS, knobs, (k, k)),
    };
    let fixtures = load_fixtures(a.platform.as_deref());
    if fixtures.parsed.is_empty() {
        eprintln!("sim: no platform named {:?}", a.platform);
        return 2;
    }
    for (name, why) in &fixtures.skipped {
        println!("skipped platform {name}: {why}");
    }
    let random = run_random(&fixtures, first, seeds, REQUESTS, knobs);
    let violations: Vec<&String> = matrix
        .violations
        .iter()
        .chain(&double.violations)
        .chain(&random.violations)
        .collect();
    for v in violations.iter().take(SHOWN) {
        println!("VIOLATION {v}");
    }
    println!(
        "platforms: {} parsed, {} skipped",
        fixtures.parsed.len(),
        fixtures.skipped.len()
    );
    println!("fault matrix: {cells} single-fault cells");
    match a.double_stride {
        0 => println!("double-fault matrix: skipped"),
        1 => println!(
            "double-fault matrix: {double_cells} cells (a second fault at every message of every recovery)"
        ),
        k => println!("double-fault matrix: {double_cells} cells (every {k}th first and second fault)"),
    }
    println!("seeds: {seeds} per platform from {first}");
    println!(
        "simulated transactions: {}",
        matrix.transactions + double.transactions + random.transactions
    );
    println!(
        "faults injected: {}",
        matrix.faults + double.faults + random.faults
    );
    println!("invariant violations: {}", violations.len());
    println!("time: {:.1} s", start.elapsed().as_secs_f64());
    i32::from(!violations.is_empty())
}

/// `--dmar FILE...`: each table's report; 1 if any file failed or showed a
/// violation.
fn dmar_files(a: &Args) -> i32 {
    let start = Instant::now();
    let (first, seeds) = a.seeds();
    let mut failed = false;
    let (mut cells, mut transactions, mut faults, mut violations) = (0, 0, 0, 0);
    for file in &a.dmar {
        println!("== {file}");
        match crate::inspect::inspect_file(file, first, seeds, REQUESTS) {
            Ok(report) => {
                for line in &report.lines {
                    println!("  {line}");
                }
                for v in report.violations.iter().take(SHOWN) {
                    println!("  VIOLATION {v}");
                }
                failed |= !report.violations.is_empty();
                cells += report.cells;
                transactions += report.transactions;
                faults += report.faults;
                violations += report.violations.len();
            }
            Err(e) => {
                println!("  error: {e}");
                failed = true;
            }
        }
    }
    println!(
        "{} tables: {cells} matrix cells, {transactions} transactions, {faults} faults injected, {violations} invariant violations ({:.1} s)",
        a.dmar.len(),
        start.elapsed().as_secs_f64()
    );
    i32::from(failed)
}
