//! `cargo xtask fuzz`: coverage-guided fuzzing of every parser and server
//! on the stable toolchain, and the short smoke `cargo xtask test` runs.
//!
//! The targets are the binaries of the `fuzz/` crate (its own workspace,
//! see its lib.rs). cargo-fuzz builds them with libFuzzer and coverage
//! instrumentation; `--sanitizer none` is what lets it build on stable
//! (ASan needs nightly flags). It is installed with `cargo install` if
//! missing. Each target runs alone in one process (the machine is shared),
//! from a scratch corpus under `fuzz/target/` plus its committed seeds in
//! `fuzz/corpus/<target>` (read only: libFuzzer adds what it finds to the
//! first directory). Per target it prints the executions, the coverage
//! libFuzzer reports (`cov` edges and `ft` features) at the start and the
//! end, the corpus size and the crashes; a crash's input is minimised and
//! kept in `fuzz/artifacts/<target>/`.
//!
//! - `fuzz list`: the targets.
//! - `fuzz seeds`: regenerates every seed corpus from real inputs.
//! - `fuzz [TARGET] [--runs N] [--seconds S]`: runs one target or all, each
//!   until N executions or S seconds (default 10 000 000 or 600).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::image;

/// Executions per target of a full run.
pub const DEFAULT_RUNS: u64 = 10_000_000;
/// Seconds per target of a full run.
pub const DEFAULT_SECONDS: u64 = 600;
/// Executions per target of the smoke in `cargo xtask test`.
pub const SMOKE_RUNS: u64 = 10_000;
/// Seconds per target of the smoke, at most (the slow targets boot a
/// simulated machine per input).
const SMOKE_SECONDS: u64 = 8;
/// One input running longer than this is a hang (a crash).
const HANG_SECONDS: u64 = 10;
/// Memory one target may use.
const RSS_LIMIT_MB: u64 = 2048;
/// Executions spent minimising a crash.
const MINIMISE_RUNS: u64 = 5_000;

/// What one target's run found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// The target.
    pub target: String,
    /// Inputs executed.
    pub executions: u64,
    /// Coverage after the seeds: (edges, features).
    pub initial: (u64, u64),
    /// Coverage at the end.
    pub last: (u64, u64),
    /// Inputs in the corpus at the end.
    pub corpus: u64,
    /// Crash inputs saved (minimised where it worked).
    pub crashes: Vec<PathBuf>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Why the run failed without a crash (could not start, ...).
    pub error: Option<String>,
    /// The panic message of the first crash.
    pub panic: Option<String>,
}

impl Report {
    /// Whether the target ran and found nothing.
    pub fn clean(&self) -> bool {
        self.crashes.is_empty() && self.error.is_none() && self.executions > 0
    }
}

fn fuzz_dir() -> PathBuf {
    image::root().join("fuzz")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The targets: the `fuzz_targets/*.rs` of the fuzz crate, sorted.
pub fn targets() -> Result<Vec<String>, String> {
    let dir = fuzz_dir().join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(names)
}

/// Installs cargo-fuzz unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let works = Command::new(cargo())
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if works {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let ok = Command::new(cargo())
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(())
        .ok_or_else(|| "cargo install cargo-fuzz failed".to_string())
}

/// Builds every target (instrumented, release, stable toolchain).
pub fn build() -> Result<(), String> {
    ensure_cargo_fuzz()?;
    let out = Command::new(cargo())
        .current_dir(fuzz_dir())
        .args(["fuzz", "build", "--sanitizer", "none"])
        .output()
        .map_err(|e| format!("cannot run cargo fuzz build: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!("cargo fuzz build failed:\n{}", tail.join("\n")))
    }
}

/// `cov: N ft: M` of a libFuzzer status line.
fn coverage(line: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let at = line.find(name)? + name.len();
        line[at..].split_whitespace().next()?.parse().ok()
    };
    Some((field("cov: ")?, field("ft: ")?))
}

/// Reads libFuzzer's output of one run into `report`.
fn read_output(text: &str, report: &mut Report) {
    for line in text.lines() {
        if line.contains("INITED") {
            if let Some(c) = coverage(line) {
                report.initial = c;
                report.last = c;
            }
        }
        if let Some(status) = line.strip_prefix('#') {
            if let Some(c) = coverage(line) {
                report.last = c;
            }
            if let Some(corp) = line.split("corp: ").nth(1) {
                if let Some(n) = corp.split('/').next().and_then(|n| n.parse().ok()) {
                    report.corpus = n;
                }
            }
            if let Some(n) = status
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
            {
                report.executions = report.executions.max(n);
            }
        }
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units: ") {
            if let Ok(n) = n.trim().parse() {
                report.executions = n;
            }
        }
        if line.contains("panicked at") && report.panic.is_none() {
            report.panic = Some(line.trim().to_string());
        }
        if let Some(path) = line.split("Test unit written to ").nth(1) {
            report.crashes.push(PathBuf::from(path.trim()));
        }
    }
}

/// Runs `target` until `runs` executions or `seconds`, alone.
pub fn run_one(target: &str, runs: u64, seconds: u64) -> Report {
    let mut report = Report {
        target: target.to_string(),
        ..Report::default()
    };
    let dir = fuzz_dir();
    let scratch = dir.join("target/corpus").join(target);
    let seeds = dir.join("corpus").join(target);
    let artifacts = dir.join("artifacts").join(target);
    for d in [&scratch, &seeds, &artifacts] {
        if let Err(e) = std::fs::create_dir_all(d) {
            report.error = Some(format!("{}: {e}", d.display()));
            return report;
        }
    }
    let start = Instant::now();
    let out = Command::new(cargo())
        .current_dir(&dir)
        .args(["fuzz", "run", "--sanitizer", "none", target])
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-runs={runs}"))
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={HANG_SECONDS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .output();
    report.seconds = start.elapsed().as_secs_f64();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            report.error = Some(format!("cannot run cargo fuzz: {e}"));
            return report;
        }
    };
    let text = String::from_utf8_lossy(&out.stderr);
    read_output(&text, &mut report);
    if !out.status.success() && report.crashes.is_empty() {
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        report.error = Some(format!(
            "libFuzzer exited with {} and saved no input:\n{}",
            out.status,
            tail.join("\n")
        ));
    }
    report.crashes = report.crashes.iter().map(|c| minimise(target, c)).collect();
    report
}

/// Minimises a crash input with `cargo fuzz tmin`; the minimised input
/// if that worked, else the input itself.
fn minimise(target: &str, crash: &Path) -> PathBuf {
    let out = Command::new(cargo())
        .current_dir(fuzz_dir())
        .args(["fuzz", "tmin", "--sanitizer", "none"])
        .arg(format!("--runs={MINIMISE_RUNS}"))
        .arg(target)
        .arg(crash)
        .output();
    let text = out
        .map(|o| {
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
        })
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split("CRASH_MIN: minimizing crash input: ").nth(1))
        .chain(
            text.lines()
                .filter_map(|l| l.split("*** Minimized artifact: ").nth(1)),
        )
        .last()
        .map(|p| PathBuf::from(p.trim().trim_matches('\'')))
        .filter(|p| p.exists())
        .unwrap_or_else(|| crash.to_path_buf())
}

/// The smoke of every target: built, then [`SMOKE_RUNS`] executions each
/// (at most [`SMOKE_SECONDS`]); a named result per target.
pub fn smoke() -> Vec<(String, bool, String)> {
    let names = match targets() {
        Ok(n) => n,
        Err(e) => return vec![("fuzz targets".into(), false, e)],
    };
    if let Err(e) = build() {
        return names
            .iter()
            .map(|t| (format!("fuzz {t}"), false, e.clone()))
            .collect();
    }
    names
        .iter()
        .map(|t| {
            let r = run_one(t, SMOKE_RUNS, SMOKE_SECONDS);
            let detail = match (&r.error, r.crashes.first()) {
                (_, Some(c)) => format!(
                    "crashed: {} ({})",
                    c.display(),
                    r.panic.as_deref().unwrap_or("no panic message")
                ),
                (Some(e), None) => e.clone(),
                (None, None) => format!("{} executions, cov {}", r.executions, r.last.0),
            };
            (format!("fuzz {t}"), r.clean(), detail)
        })
        .collect()
}

/// `cargo xtask fuzz ...`.
pub fn command(target: Option<&str>, runs: u64, seconds: u64) -> Result<ExitCode, String> {
    let all = targets()?;
    match target {
        Some("list") => {
            for t in &all {
                println!("{t}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some("seeds") => return seeds(),
        _ => {}
    }
    let chosen: Vec<String> = match target {
        Some(t) if all.iter().any(|a| a == t) => vec![t.to_string()],
        Some(t) => return Err(format!("no fuzz target {t} (targets: {})", all.join(", "))),
        None => all,
    };
    println!(
        "fuzz: building {} target(s) with cargo-fuzz (--sanitizer none)",
        chosen.len()
    );
    build()?;
    let mut reports = Vec::new();
    for t in &chosen {
        println!("fuzz: {t} (until {} executions or {} s)", runs, seconds);
        let r = run_one(t, runs, seconds);
        print_row(&r);
        reports.push(r);
    }
    println!();
    println!(
        "{:<18} {:>12} {:>15} {:>15} {:>7} {:>7} {:>8}",
        "target", "executions", "cov (start→end)", "ft (start→end)", "corpus", "crashes", "seconds"
    );
    for r in &reports {
        print_row(r);
    }
    for r in &reports {
        for c in &r.crashes {
            println!("{}: crash input {}", r.target, c.display());
        }
        if let Some(p) = &r.panic {
            println!("{}: {p}", r.target);
        }
        if let Some(e) = &r.error {
            println!("{}: {e}", r.target);
        }
    }
    Ok(if reports.iter().all(Report::clean) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_row(r: &Report) {
    println!(
        "{:<18} {:>12} {:>15} {:>15} {:>7} {:>7} {:>8.0}",
        r.target,
        r.executions,
        format!("{}→{}", r.initial.0, r.last.0),
        format!("{}→{}", r.initial.1, r.last.1),
        r.corpus,
        r.crashes.len(),
        r.seconds
    );
}

/// Regenerates every seed corpus (the fuzz crate's `seeds` example).
fn seeds() -> Result<ExitCode, String> {
    let status = Command::new(cargo())
        .current_dir(fuzz_dir())
        .args([
            "run",
            "--quiet",
            "--release",
            "--example",
            "seeds",
            "--",
            "corpus",
        ])
        .status()
        .map_err(|e| format!("cannot run the seed generator: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
INFO: Seed: 1
#2\tINITED cov: 180 ft: 434 corp: 46/1545b exec/s: 0 rss: 27Mb
#512\tpulse  cov: 190 ft: 500 corp: 50/1600b lim: 63 exec/s: 0 rss: 27Mb
#3000\tDONE   cov: 201 ft: 541 corp: 52/1700b lim: 63 exec/s: 0 rss: 27Mb
stat::number_of_executed_units: 3000
";

    #[test]
    fn libfuzzer_output_gives_executions_coverage_and_corpus() {
        let mut r = Report::default();
        read_output(OUTPUT, &mut r);
        assert_eq!(r.executions, 3000);
        assert_eq!(r.initial, (180, 434));
        assert_eq!(r.last, (201, 541));
        assert_eq!(r.corpus, 52);
        assert!(r.crashes.is_empty());
        assert!(r.clean());
    }

    #[test]
    fn a_crash_names_its_saved_input() {
        let mut r = Report::default();
        let text = format!("{OUTPUT}thread '<unnamed>' panicked at src/x.rs:1:2:\n==1== ERROR: libFuzzer: deadly signal\nTest unit written to fuzz/artifacts/x/crash-ab\n");
        read_output(&text, &mut r);
        assert_eq!(
            r.panic.as_deref(),
            Some("thread '<unnamed>' panicked at src/x.rs:1:2:")
        );
        assert_eq!(r.crashes, [PathBuf::from("fuzz/artifacts/x/crash-ab")]);
        assert!(!r.clean());
    }

    #[test]
    fn every_fuzz_target_is_listed_and_has_seeds() {
        let all = targets().unwrap();
        assert!(all.len() >= 13, "{all:?}");
        for t in &all {
            let seeds = fuzz_dir().join("corpus").join(t);
            let n = std::fs::read_dir(&seeds).map(|d| d.count()).unwrap_or(0);
            assert!(n > 0, "{t} has no committed seeds in {}", seeds.display());
        }
    }
}
