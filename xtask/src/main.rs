//! `cargo xtask`: build, boot and test custody.
//!
//! - `build [--app PATH]`: check app.toml, build every task and the kernel,
//!   print the image's path.
//! - `run [--app PATH] [--accel tcg|kvm] [--iommu OPTS] [--qemu-arg ARG]...`:
//!   build, boot in QEMU with the console on this terminal and every task's
//!   log decoded alongside; exit with the status the image reports.
//! - `test [same machine options]`: every host test and every QEMU scenario,
//!   one line each, ending with `N passed, M failed`.
//! - `sim [--seeds N] [--seed S] [--platform NAME | --dmar FILE...]`: the deterministic
//!   simulation of every component on the VT-d model, with fault injection.
//! - `dmar [--json] [FILE...]`: print DMAR tables (default: this machine's).
//! - `bench`: IPC round trips in guest instructions (TCG `-icount`), sizes;
//!   a table and `target/bench.json`.
//! - `graph [--app PATH]`: the system as a picture (DOT and SVG).
//! - `fuzz [list | seeds | TARGET] [--runs N] [--seconds S]`: see `fuzz.rs`.
//! - `lint`: `cargo fmt --check`, then clippy with `-D warnings` on the host
//!   workspace and on every firmware crate of every app.

mod app;
mod bench;
mod fuzz;
mod graph;
mod image;
mod layout;
mod logs;
mod memory;
mod qemu;
mod rights;
mod system;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use app::App;
use qemu::MachineOptions;

const USAGE: &str =
    "usage: cargo xtask <build|run|test|bench|graph|lint> [--app PATH] [--accel tcg|kvm] \
[--iommu OPTS] [--qemu-arg ARG]... [--interactive]
       cargo xtask dmar [--json] [FILE...]
       cargo xtask sim [--seeds N] [--seed S] [--platform NAME | --dmar FILE...] [--double-stride K]";

/// Parsed command-line options.
#[derive(Debug, Default)]
struct Options {
    app: Option<PathBuf>,
    machine: MachineOptions,
    interactive: bool,
    rest: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--app" => o.app = Some(PathBuf::from(value("--app")?)),
            "--accel" => o.machine.accel = Some(value("--accel")?),
            "--iommu" => o.machine.iommu = Some(value("--iommu")?),
            "--qemu-arg" => o.machine.extra.push(value("--qemu-arg")?),
            "--interactive" => o.interactive = true,
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other}\n{USAGE}"))
            }
            other => o.rest.push(other.to_string()),
        }
    }
    Ok(o)
}

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if cmd == "sim" {
        // A separate binary, built in release: the simulation is CPU-bound,
        // and xtask should not need the simulator to build.
        let status =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(image::root())
                .args(["run", "--quiet", "--release", "--package", "sim", "--"])
                .args(rest)
                .status();
        return match status {
            Ok(s) if s.success() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("xtask: cannot run the simulator: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cmd == "fuzz" {
        return fuzz::command(rest).unwrap_or_else(|e| {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        });
    }
    if cmd == "dmar" {
        let code = acpi::report::dmar_command(rest);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let opts = match parse(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd.as_str() {
        "build" => cmd_build(&opts),
        "run" => cmd_run(&opts),
        "test" => test::run(opts.app.as_ref(), &opts.machine),
        "lint" => cmd_lint(),
        "bench" => bench::run(&opts.machine),
        "graph" => cmd_graph(&opts),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other}\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_graph(opts: &Options) -> Result<ExitCode, String> {
    let app = load_app(opts.app.as_ref())?;
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

fn cmd_build(opts: &Options) -> Result<ExitCode, String> {
    let app = load_app(opts.app.as_ref())?;
    let img = image::build(&app, false)?;
    for (name, text, data) in &img.sizes {
        println!("  {name:<12} text {text:>7}  data {data:>7}");
    }
    println!("{}", img.image.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_run(opts: &Options) -> Result<ExitCode, String> {
    let app = load_app(opts.app.as_ref())?;
    qemu::ensure_installed()?;
    let img = image::build(&app, false)?;
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let demo = &app.console.demo;
    let script = (!opts.interactive && !demo.is_empty()).then(|| qemu::Script {
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
        &opts.machine,
        opts.interactive,
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
    })
}
