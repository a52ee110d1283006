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

/// The command line, for errors.
const USAGE: &str =
    "usage: sim [--seeds N] [--seed S] [--platform NAME | --dmar FILE...] [--double-stride K]";

struct Args {
    first: u64,
    seeds: u64,
    platform: Option<String>,
    /// Tables named with `--dmar`.
    dmar: Vec<String>,
    double_stride: usize,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        first: 1,
        seeds: SEEDS,
        platform: None,
        dmar: Vec::new(),
        double_stride: 1,
    };
    let mut it = args.iter().peekable();
    while let Some(flag) = it.next() {
        if flag == "--dmar" {
            while let Some(file) = it.next_if(|a| !a.starts_with("--")) {
                a.dmar.push(file.clone());
            }
            if a.dmar.is_empty() {
                return Err(
                    "--dmar needs at least one FILE (e.g. /sys/firmware/acpi/tables/DMAR)".into(),
                );
            }
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--seeds" => a.seeds = number()?,
            "--seed" => {
                a.first = number()?;
                a.seeds = 1;
            }
            "--platform" => a.platform = Some(value.clone()),
            "--double-stride" => a.double_stride = usize::try_from(number()?).unwrap_or(usize::MAX),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Runs the simulator; 0 when no invariant was violated, 1 otherwise, 2 on
/// bad arguments.
pub fn cli(args: &[String]) -> i32 {
    let a = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sim: {e}\n{USAGE}");
            return 2;
        }
    };
    if !a.dmar.is_empty() {
        if a.platform.is_some() {
            eprintln!("sim: --platform and --dmar choose the tables two ways; give one\n{USAGE}");
            return 2;
        }
        return dmar_files(&a);
    }
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
    let random = run_random(&fixtures, a.first, a.seeds, REQUESTS, knobs);
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
    println!("seeds: {} per platform from {}", a.seeds, a.first);
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
    let mut failed = false;
    let (mut cells, mut transactions, mut faults, mut violations) = (0, 0, 0, 0);
    for file in &a.dmar {
        println!("== {file}");
        match crate::inspect::inspect_file(file, a.first, a.seeds, REQUESTS) {
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
