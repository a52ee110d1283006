//! `cargo xtask`: build, boot, test and measure custody.
//!
//! The commands and their options are declared once, in [`cli`]
//! (`cargo xtask --help`, `cargo xtask COMMAND --help`); this file runs them.

mod app;
mod bench;
mod cli;
mod fuzz;
mod gdb;
mod generate;
mod graph;
mod image;
mod install;
mod layout;
mod logs;
mod memory;
mod qemu;
mod rights;
mod stack_bound;
mod symbols;
mod system;
mod terminal;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use app::App;
use clap::Parser;
use cli::{Cli, Command};

/// The firmware binary of a workspace package: its one `[[bin]]`, or the
/// package's own name.
pub fn firmware_bin(package: &str) -> String {
    let root = image::root();
    let read = |p: PathBuf| -> Option<toml::Value> {
        toml::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    let members = read(root.join("Cargo.toml"))
        .and_then(|ws| ws.get("workspace")?.get("members")?.as_array().cloned())
        .unwrap_or_default();
    for m in members.iter().filter_map(|m| m.as_str()) {
        let Some(c) = read(root.join(m).join("Cargo.toml")) else {
            continue;
        };
        if c.get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            != Some(package)
        {
            continue;
        }
        let bins = c
            .get("bin")
            .and_then(|b| b.as_array())
            .cloned()
            .unwrap_or_default();
        if let [one] = bins.as_slice() {
            if let Some(name) = one.get("name").and_then(|n| n.as_str()) {
                return name.to_string();
            }
        }
    }
    package.to_string()
}

/// The workspace members as app.toml's checks see them: package names and
/// the interfaces each implements and calls (`[package.metadata.custody]`).
fn workspace_crates() -> Result<Vec<app::CrateInfo>, String> {
    let root = image::root();
    let read = |p: PathBuf| -> Option<toml::Value> {
        toml::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    let Some(ws) = read(root.join("Cargo.toml")) else {
        return Ok(Vec::new());
    };
    let members = ws
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    members
        .iter()
        .filter_map(|m| m.as_str())
        .filter_map(|m| read(root.join(m).join("Cargo.toml")))
        .filter_map(|c| app::CrateInfo::from_manifest(&c))
        .collect()
}

/// Loads an app.toml (default: the root one), printing its error.
fn load_app(path: Option<&PathBuf>) -> Result<App, String> {
    let path = path
        .cloned()
        .unwrap_or_else(|| image::root().join("app.toml"));
    App::load(&path, &workspace_crates()?).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => cmd_build(a.app.as_ref()),
        Command::Run {
            app,
            machine,
            interactive,
        } => cmd_run(app.app.as_ref(), &machine.options(), interactive),
        Command::Test { app, machine } => test::run(app.as_ref(), &machine.options()),
        Command::Bench { machine } => bench::run(&machine.options()),
        Command::Gdb {
            app,
            machine,
            batch,
        } => cmd_gdb(app.app.as_ref(), &machine.options(), &batch),
        Command::Graph(a) => cmd_graph(a.app.as_ref()),
        Command::Lint => cmd_lint(),
        Command::Dmar { json, files } => {
            let code = acpi::report::dmar_command(json, &files);
            return ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(u8::MAX));
        }
        Command::Sim { args } => cmd_sim(&args),
        Command::Fuzz {
            target,
            runs,
            seconds,
        } => fuzz::command(target.as_deref(), runs, seconds),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the simulator, a separate binary built in release: the simulation
/// is CPU-bound, and xtask should not need the simulator to build. It
/// parses its own arguments.
fn cmd_sim(args: &[String]) -> Result<ExitCode, String> {
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(image::root())
            .args(["run", "--quiet", "--release", "--package", "sim", "--"])
            .args(args)
            .status()
            .map_err(|e| format!("cannot run the simulator: {e}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(2) => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    })
}

fn cmd_gdb(
    app: Option<&PathBuf>,
    machine: &qemu::MachineOptions,
    batch: &[String],
) -> Result<ExitCode, String> {
    let app = load_app(app)?;
    let img = image::build(&app, false)?;
    gdb::run(&app, &img, machine, batch)
}

fn cmd_graph(app: Option<&PathBuf>) -> Result<ExitCode, String> {
    let app = load_app(app)?;
    let (dot, svg) = graph::write(&app)?;
    println!("{}\n{}", dot.display(), svg.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_lint() -> Result<ExitCode, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str]| {
        std::process::Command::new(&cargo)
            .current_dir(image::root())
            .args(args)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !run(&["fmt", "--all", "--", "--check"]) {
        return Err("cargo fmt would change files (run cargo fmt --all)".into());
    }
    if !run(&[
        "clippy",
        "--quiet",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]) {
        return Err("clippy found problems in the host workspace".into());
    }
    let mut apps = vec![image::root().join("app.toml")];
    if let Ok(dir) = std::fs::read_dir(image::root().join("apps")) {
        apps.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
    }
    for path in apps
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
    {
        if !path.exists() {
            continue;
        }
        let app = load_app(Some(path))?;
        image::build(&app, true)?;
        image::clippy(&app)?;
    }
    println!("lint: clean");
    Ok(ExitCode::SUCCESS)
}

fn cmd_build(app: Option<&PathBuf>) -> Result<ExitCode, String> {
    let app = load_app(app)?;
    let img = image::build(&app, false)?;
    for (name, text, data) in &img.sizes {
        println!("  {name:<12} text {text:>7}  data {data:>7}");
    }
    println!("static stack bounds (deepest call path from _start; details in stack-bound.txt beside each task):");
    for (name, bound, size) in &img.stacks {
        println!("  {}", stack_bound::summary(name, bound, *size));
    }
    let marks = last_run_stack_marks(&app, &img);
    if marks.is_empty() {
        println!("painted high-water marks: none yet (they are logged when a run of this app shuts down)");
    } else {
        println!(
            "painted high-water marks of the last run (target/custody/{}/log.bin):",
            app.name
        );
        for m in marks {
            println!("  {m}");
        }
    }
    println!("{}", img.image.display());
    Ok(ExitCode::SUCCESS)
}

/// The kernel's `stack: NAME used N of M bytes` lines of the last run of
/// `app`, decoded from its saved log stream.
fn last_run_stack_marks(app: &App, img: &image::Image) -> Vec<String> {
    let Ok(bytes) = std::fs::read(image::out_dir(app).join("log.bin")) else {
        return Vec::new();
    };
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let mut decoder = logs::Decoder::new(&tables);
    let lines = decoder.feed(&bytes);
    lines
        .into_iter()
        .filter_map(|l| l.message.strip_prefix("stack: ").map(str::to_string))
        .collect()
}

fn cmd_run(
    app: Option<&PathBuf>,
    machine: &qemu::MachineOptions,
    interactive: bool,
) -> Result<ExitCode, String> {
    let app = load_app(app)?;
    qemu::ensure_installed()?;
    let img = image::build(&app, false)?;
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let demo = &app.console.demo;
    let script = (!interactive && !demo.is_empty()).then(|| qemu::Script {
        prompt: app.console.prompt.clone(),
        lines: demo
            .iter()
            .map(|s| (s.send.clone(), 0))
            .chain(std::iter::once(("shutdown".to_string(), 0)))
            .collect(),
    });
    let scripted = script.is_some();
    let out = qemu::run(
        &app,
        &img.image,
        &tables,
        machine,
        interactive,
        true,
        script,
    )?;
    if scripted {
        let mut worked = 0;
        println!("\n== demo summary");
        for (i, step) in demo.iter().enumerate() {
            let answer = out.answers.get(i).map(String::as_str).unwrap_or("");
            let ok =
                step.expect.as_deref().is_none_or(|e| answer.contains(e)) && i < out.answers.len();
            worked += ok as usize;
            let mark = if ok { "ok  " } else { "FAIL" };
            println!("  {mark} {}  (`{}`)", step.say, step.send);
        }
        println!("{worked} of {} demo steps worked", demo.len());
        if worked != demo.len() {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(match out.exit {
        qemu::Exit::Pass => ExitCode::SUCCESS,
        qemu::Exit::Fail => {
            eprintln!("xtask: the image reported failure");
            ExitCode::FAILURE
        }
        qemu::Exit::Timeout => {
            eprintln!("xtask: no exit after {} s; QEMU stopped", app.qemu.timeout);
            ExitCode::FAILURE
        }
        qemu::Exit::Other(c) => {
            eprintln!("xtask: QEMU exited with status {c}");
            ExitCode::FAILURE
        }
        qemu::Exit::Quit => {
            eprintln!("xtask: stopped (Ctrl-A x)");
            ExitCode::SUCCESS
        }
    })
}
