//! `cargo xtask test`: every host test, then every QEMU scenario, one line
//! each, then `N passed, M failed`.
//!
//! Host tests are `cargo test --workspace`, whose per-test lines are read
//! back. QEMU scenarios live in test images (`apps/*.toml` with a `[test]`
//! table listing the scenario names); the image's runner logs
//! `TEST <name> start`, then `TEST <name> ok` or `TEST <name> FAIL <why>`.
//! A scenario never reported is a failure that names what ended the run (a
//! hang after the time limit, a crash, an early exit).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::app::App;
use crate::qemu::{self, Exit, MachineOptions};
use crate::{image, logs};

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn record(&mut self, name: &str, ok: bool, detail: &str) {
        if ok {
            self.passed += 1;
            println!("{name} ... ok");
        } else {
            println!("{name} ... FAILED {detail}");
            self.failed.push(name.to_string());
        }
    }
}

/// Runs everything (or only the QEMU scenarios of `app`).
pub fn run(app: Option<&PathBuf>, machine: &MachineOptions) -> Result<ExitCode, String> {
    let mut tally = Tally::default();
    if app.is_none() {
        host_tests(&mut tally)?;
        fuzz_smoke(&mut tally);
    }
    qemu::ensure_installed()?;
    let apps = match app {
        Some(a) => vec![a.clone()],
        None => test_apps()?,
    };
    for path in &apps {
        scenario_app(path, machine, &mut tally);
    }
    if app.is_none() {
        stack_overflow_refused(&mut tally);
    }
    // `cargo xtask gdb` is tested with the image it is tested on.
    if apps.iter().any(|p| p.ends_with(GDB_APP)) {
        gdb_session(machine, &mut tally);
    }
    if !tally.failed.is_empty() {
        println!("\nfailed:");
        for f in &tally.failed {
            println!("    {f}");
        }
    }
    println!("{} passed, {} failed", tally.passed, tally.failed.len());
    Ok(if tally.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every fuzz target briefly (`crate::fuzz::smoke`), so none rots.
fn fuzz_smoke(tally: &mut Tally) {
    println!(
        "== fuzz smoke ({} executions per target, cargo-fuzz)",
        crate::fuzz::SMOKE_RUNS
    );
    for (name, ok, detail) in crate::fuzz::smoke() {
        println!("    {name}: {detail}");
        tally.record(&name, ok, &detail);
    }
}

fn test_apps() -> Result<Vec<PathBuf>, String> {
    let dir = image::root().join("apps");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.trim() == "[test]"))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn host_tests(tally: &mut Tally) -> Result<(), String> {
    println!("== host tests (cargo test --workspace)");
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(image::root())
        .args(["test", "--workspace", "--no-fail-fast", "--quiet"])
        .args(["--", "--format", "pretty", "--color", "never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut crates = Vec::new();
        let mut text = String::new();
        if let Some(e) = stderr {
            for line in BufReader::new(e).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("Running ") {
                    crates.push(rest.to_string());
                }
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    let mut seen = 0;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let Some(rest) = line.strip_prefix("test ") else {
                continue;
            };
            let Some((name, result)) = rest.rsplit_once(" ... ") else {
                continue;
            };
            seen += 1;
            match result.trim() {
                "ok" => tally.record(&format!("host {name}"), true, ""),
                r if r.starts_with("ignored") => {}
                r => tally.record(&format!("host {name}"), false, r),
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let err_text = err_thread.join().unwrap_or_default();
    if !status.success() && tally.failed.is_empty() {
        eprintln!("{err_text}");
        tally.record(
            "host cargo test (build)",
            false,
            "cargo test failed before running tests",
        );
    }
    if seen == 0 {
        tally.record("host cargo test", false, "no test ran");
    }
    Ok(())
}

/// All console scenarios as one script (then `shutdown`).
fn console_script(app: &App) -> Option<qemu::Script> {
    let steps: Vec<(String, u64)> = app
        .console
        .scenario
        .iter()
        .flat_map(|s| s.steps.iter().map(|st| (st.send.clone(), st.after_ms)))
        .chain(std::iter::once(("shutdown".to_string(), 0)))
        .collect();
    (!app.console.scenario.is_empty()).then(|| qemu::Script {
        prompt: app.console.prompt.clone(),
        lines: steps,
    })
}

/// Each console scenario passes when every answer contains its `expect`
/// and none contains its `refuse`.
fn score_console(app: &App, answers: &[String]) -> Vec<(String, bool, String)> {
    let mut k = 0;
    let mut out = Vec::new();
    for sc in &app.console.scenario {
        let mut why = String::new();
        for st in &sc.steps {
            let answer = answers.get(k).map(String::as_str);
            k += 1;
            if !why.is_empty() {
                continue;
            }
            match answer {
                None => why = format!("`{}` got no answer", st.send),
                Some(a) => {
                    if let Some(e) = st.expect.as_deref().filter(|e| !a.contains(e)) {
                        why = format!("`{}` answered {:?}, expected {e:?}", st.send, a.trim());
                    } else if let Some(r) = st.refuse.as_deref().filter(|r| a.contains(r)) {
                        why = format!(
                            "`{}` answered {:?}, which must not contain {r:?}",
                            st.send,
                            a.trim()
                        );
                    }
                }
            }
        }
        out.push((sc.name.clone(), why.is_empty(), why));
    }
    out
}

/// Boots one test image and scores its scenarios.
fn scenario_app(path: &Path, machine: &MachineOptions, tally: &mut Tally) {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!("== QEMU scenarios of {}", path.display());
    let loaded = crate::workspace_crates()
        .and_then(|crates| App::load(path, &crates).map_err(|e| e.to_string()));
    let app = match loaded {
        Ok(a) => a,
        Err(e) => return tally.record(&format!("qemu {stem} (app.toml)"), false, &e),
    };
    let mut scenarios = app
        .test
        .as_ref()
        .map(|t| t.scenarios.clone())
        .unwrap_or_default();
    scenarios.extend(app.console.scenario.iter().map(|s| s.name.clone()));
    let script = console_script(&app);
    let img = match image::build(&app, true) {
        Ok(i) => i,
        Err(e) => return tally.record(&format!("qemu {stem} (build)"), false, &e),
    };
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let out = match qemu::run(&app, &img.image, &tables, machine, false, false, script) {
        Ok(o) => o,
        Err(e) => return tally.record(&format!("qemu {stem} (boot)"), false, &e),
    };
    let mut started: Option<String> = None;
    let mut results: Vec<(String, bool, String)> = score_console(&app, &out.answers);
    for l in &out.lines {
        let Some(rest) = l.message.strip_prefix("TEST ") else {
            continue;
        };
        let mut parts = rest.splitn(3, ' ');
        let (name, verdict, why) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        match verdict {
            "start" => started = Some(name.to_string()),
            "ok" => results.push((name.to_string(), true, String::new())),
            "FAIL" => results.push((name.to_string(), false, why.to_string())),
            _ => {}
        }
    }
    let ended = match &out.exit {
        Exit::Pass => "the image exited reporting success".to_string(),
        Exit::Fail => "the image exited reporting failure".to_string(),
        Exit::Timeout => format!("hang: no exit within {} s", app.qemu.timeout),
        Exit::Other(c) => format!("QEMU exited with status {c}"),
        Exit::Quit => "stopped by the operator".to_string(),
    };
    let mut any_failed = false;
    for s in &scenarios {
        let full = format!("qemu {stem}::{s}");
        match results.iter().find(|(n, _, _)| n == s) {
            Some((_, ok, why)) => {
                any_failed |= !ok;
                tally.record(&full, *ok, why);
            }
            None => {
                any_failed = true;
                let detail = if started.as_deref() == Some(s.as_str()) {
                    format!("started but never finished ({ended})")
                } else {
                    format!("never reported ({ended})")
                };
                tally.record(&full, false, &detail);
            }
        }
    }
    for (n, ok, why) in &results {
        if !scenarios.contains(n) {
            any_failed = true;
            tally.record(
                &format!("qemu {stem}::{n}"),
                false,
                &format!("not listed in [test] scenarios ({ok} {why})"),
            );
        }
    }
    for expect in app.test.iter().flat_map(|t| &t.log) {
        let printed: Vec<String> = out.lines.iter().map(|l| l.to_string()).collect();
        let ok = expect.met_by(printed.iter().map(String::as_str));
        any_failed |= !ok;
        tally.record(
            &format!("qemu {stem}::{}", expect.name),
            ok,
            &format!("no log line contains all of {:?}", expect.line_with),
        );
    }
    if let Some((ok, detail)) = stack_headroom(&out.lines) {
        any_failed |= !ok;
        tally.record(
            &format!("qemu {stem}::every_task_keeps_a_quarter_of_its_stack_free"),
            ok,
            &detail,
        );
    }
    if out.exit != Exit::Pass && !any_failed {
        tally.record(&format!("qemu {stem} (exit)"), false, &ended);
        any_failed = true;
    }
    if any_failed {
        println!("---- last log lines of {stem}");
        let skip = out.lines.len().saturating_sub(60);
        for l in &out.lines[skip..] {
            println!("    {l}");
        }
        if !out.console.trim().is_empty() {
            println!("---- console of {stem}");
            for l in out
                .console
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                println!("    {l}");
            }
        }
    }
}

/// The most of its stack a task may have used by the end of a test image
/// (percent): the rest is headroom for paths the scenarios did not take.
const STACK_LIMIT_PERCENT: u64 = 75;

/// The image `cargo xtask gdb` is tested on, and what gdb must print: a
/// breakpoint in a task (the victim's `write_to`, which kernel-tests
/// calls) is hit with its argument, the backtrace reaches the task's
/// `main`, and a static of that task is read through its page tables.
const GDB_APP: &str = "apps/kernel-tests.toml";
const GDB_COMMANDS: [&str; 5] = [
    "break task_test_victim::write_to",
    "continue",
    "print/x address",
    "bt",
    "print task_test_victim::NOT_CODE",
];
const GDB_EXPECT: [&str; 4] = [
    "Breakpoint 1, task_test_victim::write_to (address=1048576)",
    "$1 = 0x100000",
    "in task_test_victim::main ()",
    "$2 = [195]",
];

/// `cargo xtask gdb` in batch mode on [`GDB_APP`].
fn gdb_session(machine: &MachineOptions, tally: &mut Tally) {
    const NAME: &str = "xtask gdb::a_breakpoint_in_a_task_is_hit_and_its_variables_are_read";
    let path = image::root().join(GDB_APP);
    let loaded = crate::workspace_crates()
        .and_then(|crates| App::load(&path, &crates).map_err(|e| e.to_string()));
    let app = match loaded {
        Ok(a) => a,
        Err(e) => return tally.record(NAME, false, &e),
    };
    let out = image::build(&app, true).and_then(|img| {
        let commands: Vec<String> = GDB_COMMANDS.iter().map(|c| c.to_string()).collect();
        crate::gdb::batch_output(&app, &img, machine, &commands)
    });
    match out {
        Ok(text) => {
            let missing: Vec<&str> = GDB_EXPECT
                .iter()
                .copied()
                .filter(|want| !text.contains(want))
                .collect();
            let detail = format!("gdb did not print {missing:?}; it printed:\n{text}");
            tally.record(NAME, missing.is_empty(), &detail);
        }
        Err(e) => tally.record(NAME, false, &e),
    }
}

/// The default system with pci's stack cut to one page, which its deepest
/// call path (about 10 KiB) can overflow: the build must refuse it and
/// name the task, the sizes and the path.
fn stack_overflow_refused(tally: &mut Tally) {
    const NAME: &str =
        "xtask build::a_task_whose_deepest_call_path_exceeds_its_stack_fails_the_build";
    const PAGE: i64 = 4096;
    let result = (|| -> Result<String, String> {
        let root = image::root();
        let text = std::fs::read_to_string(root.join("app.toml")).map_err(|e| e.to_string())?;
        let mut doc: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
        doc.insert("name".into(), "stack-overflow-check".into());
        let pci = doc
            .get_mut("tasks")
            .and_then(|t| t.get_mut("pci"))
            .and_then(|t| t.as_table_mut())
            .ok_or("app.toml has no [tasks.pci]")?;
        pci.insert("stacksize".into(), toml::Value::Integer(PAGE));
        let dir = root.join("target").join("custody");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("stack-overflow-check.toml");
        std::fs::write(&path, toml::to_string(&doc).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let app = crate::workspace_crates()
            .and_then(|c| App::load(&path, &c).map_err(|e| e.to_string()))?;
        match image::build(&app, true) {
            Ok(_) => Err("the build succeeded".into()),
            Err(e) => Ok(e),
        }
    })();
    match result {
        Ok(e) => {
            let want =
                format!("[tasks.pci] stacksize: {PAGE} bytes, but the deepest call path can use");
            let ok = e.contains(&want) && e.contains("_start -> ");
            tally.record(NAME, ok, &format!("the build failed otherwise: {e}"));
        }
        Err(e) => tally.record(NAME, false, &e),
    }
}

/// Checks the kernel's `stack: NAME used N of M bytes` lines (logged at
/// shutdown): `None` if the image logged none (it did not shut down), else
/// whether every task stayed under [`STACK_LIMIT_PERCENT`], naming the worst.
fn stack_headroom(lines: &[crate::logs::LogLine]) -> Option<(bool, String)> {
    let marks: Vec<(String, u64, u64)> = lines
        .iter()
        .filter_map(|l| {
            let rest = l.message.strip_prefix("stack: ")?;
            let (name, rest) = rest.split_once(" used ")?;
            let (used, rest) = rest.split_once(" of ")?;
            let size = rest.strip_suffix(" bytes")?;
            Some((name.to_string(), used.parse().ok()?, size.parse().ok()?))
        })
        .collect();
    let (name, used, size) = marks
        .iter()
        .max_by_key(|(_, used, size)| used * 1000 / (*size).max(1))?;
    let percent = used * 100 / (*size).max(1);
    let ok = percent <= STACK_LIMIT_PERCENT;
    let detail = format!(
        "{name} used {used} of {size} bytes ({percent}%, limit {STACK_LIMIT_PERCENT}%): raise its stacksize in app.toml"
    );
    Some((ok, detail))
}

#[cfg(test)]
mod stack_tests {
    use super::*;
    use crate::logs::LogLine;

    fn line(message: &str) -> LogLine {
        LogLine {
            time_ms: 0,
            task: "kernel".into(),
            level: "INFO".into(),
            message: message.into(),
        }
    }

    #[test]
    fn an_image_without_stack_marks_is_not_judged() {
        assert_eq!(stack_headroom(&[line("all tasks ready")]), None);
    }

    #[test]
    fn the_task_closest_to_its_limit_is_named_and_decides() {
        let lines = [
            line("stack: pci used 1000 of 16384 bytes"),
            line("stack: broker used 200000 of 262144 bytes"),
        ];
        let (ok, detail) = stack_headroom(&lines).unwrap();
        assert!(!ok);
        assert!(
            detail.starts_with("broker used 200000 of 262144 bytes (76%"),
            "{detail}"
        );
        let (ok, _) = stack_headroom(&lines[..1]).unwrap();
        assert!(ok);
    }
}
