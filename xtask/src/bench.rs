//! `cargo xtask bench`: performance figures, measured the same way every
//! time, printed as a table and written to `target/bench.json`.
//!
//! IPC figures come from `apps/bench.toml` booted under TCG with
//! `-icount shift=0`: the guest TSC advances once per instruction, so each
//! figure is a deterministic count of guest instructions (median of 1000,
//! minus the cost of an empty measurement, as sel4bench does).

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::app::App;
use crate::qemu::{self, Exit, MachineOptions};
use crate::{image, logs};

/// seL4's IPC fastpath measured the same way on this kind of machine
/// (sel4bench, release, x86-64 generic, cross address space, 0-length):
/// seL4_Call 199 + seL4_ReplyRecv 226 instructions.
const SEL4_ROUND_TRIP: u64 = 425;

/// The medians of the `BENCH` lines a test image logs when booted under
/// `-icount` (the VT-d driver's path lengths on QEMU's unit; domid's).
fn image_figures(
    machine: &MachineOptions,
    app: &str,
    how: &'static str,
) -> Result<Vec<Figure>, String> {
    let path = image::root().join(app);
    let app = App::load(&path, &crate::workspace_crates()?).map_err(|e| e.to_string())?;
    let img = image::build(&app, true)?;
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let mut opts = machine.clone();
    opts.icount = true;
    let out = qemu::run(&app, &img.image, &tables, &opts, false, false, None)?;
    let mut by_name: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for l in &out.lines {
        let mut p = match l.message.strip_prefix("BENCH ") {
            Some(rest) => rest.split(' '),
            None => continue,
        };
        if let (Some(n), Some(v)) = (p.next(), p.next().and_then(|v| v.parse().ok())) {
            by_name.entry(n.to_string()).or_default().push(v);
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(name, mut v)| {
            v.sort_unstable();
            Figure {
                value: v[v.len() / 2],
                name,
                how,
            }
        })
        .collect())
}

/// Per-reassignment hardware costs, direct versus the two-step it replaced,
/// counted on the VT-d model (`drv/vtd/examples/reassign_costs.rs`).
fn model_figures() -> Result<Vec<Figure>, String> {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(image::root())
        .args([
            "run",
            "--quiet",
            "--package",
            "vtd",
            "--features",
            "model",
            "--example",
            "reassign_costs",
        ])
        .output()
        .map_err(|e| format!("cannot run the VT-d model: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the VT-d model example failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some(Figure {
                name: name.to_string(),
                value: value.trim().parse().ok()?,
                how: "VT-d model of QEMU 7.2, one reassignment of a device with an RMRR",
            })
        })
        .collect())
}

struct Figure {
    name: String,
    value: u64,
    how: &'static str,
}

/// Runs the benchmarks.
pub fn run(machine: &MachineOptions) -> Result<ExitCode, String> {
    qemu::ensure_installed()?;
    let path = image::root().join("apps/bench.toml");
    let app = App::load(&path, &crate::workspace_crates()?).map_err(|e| e.to_string())?;
    let img = image::build(&app, true)?;
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let mut opts = machine.clone();
    opts.icount = true;
    let out = qemu::run(&app, &img.image, &tables, &opts, false, false, None)?;
    if out.exit != Exit::Pass {
        for l in out.lines.iter().rev().take(30).rev() {
            eprintln!("    {l}");
        }
        return Err(format!(
            "the benchmark image did not finish ({:?})",
            out.exit
        ));
    }
    let how = "guest instructions, TCG -icount shift=0, median of 1000 minus empty measurement";
    let mut figures: Vec<Figure> = out
        .lines
        .iter()
        .filter_map(|l| {
            let mut p = l.message.strip_prefix("BENCH ")?.split(' ');
            Some(Figure {
                name: p.next()?.to_string(),
                value: p.next()?.parse().ok()?,
                how,
            })
        })
        .collect();
    let get = |n: &str, f: &[Figure]| f.iter().find(|x| x.name == n).map(|x| x.value);
    let raw0 = get("raw_ipc_0_bytes", &figures).unwrap_or(0);
    let raw16 = get("raw_ipc_16_bytes", &figures).unwrap_or(0);
    let idl16 = get("idl_ipc_16_bytes", &figures).unwrap_or(0);
    let null = get("null_syscall", &figures).unwrap_or(0);
    figures.push(Figure {
        name: "idl_overhead_16_bytes".into(),
        value: idl16.saturating_sub(raw16),
        how: "idl_ipc_16_bytes - raw_ipc_16_bytes",
    });
    figures.push(Figure {
        name: "sel4_fastpath_round_trip".into(),
        value: SEL4_ROUND_TRIP,
        how: "reference: sel4bench Call 199 + ReplyRecv 226, same method",
    });
    figures.extend(model_figures()?);
    figures.extend(image_figures(
        machine,
        "apps/vtd-tests.toml",
        "guest instructions of the VT-d driver on QEMU's unit (register invalidation), TCG -icount, median",
    )?);
    figures.extend(image_figures(
        machine,
        "apps/platform-tests.toml",
        "domid at ND=6: acquire/release as one IDL call (guest instructions, median) and bytes per unit",
    )?);
    for (name, text, data) in &img.sizes {
        figures.push(Figure {
            name: format!("size_{name}_text"),
            value: *text,
            how: "bytes of executable segments",
        });
        figures.push(Figure {
            name: format!("size_{name}_data"),
            value: *data,
            how: "bytes of writable segments (data + bss)",
        });
    }
    let image_size = std::fs::metadata(&img.image).map(|m| m.len()).unwrap_or(0);
    figures.push(Figure {
        name: "size_image_file".into(),
        value: image_size,
        how: "bytes of the bootable ELF, with debug info",
    });

    println!("{:<40} {:>10}  how", "figure", "value");
    for f in &figures {
        println!("{:<40} {:>10}  {}", f.name, f.value, f.how);
    }
    if raw0 > 0 && null > 0 {
        println!(
            "\nraw IPC round trip: {raw0} instructions = {:.2}x seL4's fastpath ({SEL4_ROUND_TRIP}), {:.2}x two null syscalls ({})",
            raw0 as f64 / SEL4_ROUND_TRIP as f64,
            raw0 as f64 / (2 * null) as f64,
            2 * null
        );
    }
    let mut json = String::from("{\n");
    for (i, f) in figures.iter().enumerate() {
        let comma = if i + 1 < figures.len() { "," } else { "" };
        let _ = writeln!(
            json,
            "  \"{}\": {{\"value\": {}, \"how\": \"{}\"}}{comma}",
            f.name, f.value, f.how
        );
    }
    json.push_str("}\n");
    let path = image::root().join("target/bench.json");
    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("written to {}", path.display());
    Ok(ExitCode::SUCCESS)
}
