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

mod reassign;

/// seL4's IPC fastpath measured the same way on this kind of machine
/// (sel4bench, release, x86-64 generic, cross address space, 0-length):
/// seL4_Call 199 + seL4_ReplyRecv 226 instructions.
const SEL4_ROUND_TRIP: u64 = 425;

/// Loads an app.toml of the workspace (`rel` from its root).
fn load_app(rel: &str) -> Result<App, String> {
    App::load(&image::root().join(rel), &crate::workspace_crates()?).map_err(|e| e.to_string())
}

/// Builds `app` and boots it under `-icount shift=0` (one TSC tick per
/// guest instruction), typing `script` into its console if given.
fn boot_counted(
    machine: &MachineOptions,
    app: &App,
    script: Option<qemu::Script>,
) -> Result<(image::Image, qemu::Outcome), String> {
    let img = image::build(app, true)?;
    let names: Vec<String> = app.tasks.iter().map(|t| t.name.clone()).collect();
    let tables = logs::Tables::load(&names, &img.task_elves, &img.image);
    let mut opts = machine.clone();
    opts.icount = true;
    let out = qemu::run(app, &img.image, &tables, &opts, false, false, script)?;
    Ok((img, out))
}

/// The medians of the `BENCH` lines a test image logs when booted under
/// `-icount` (the VT-d driver's path lengths on QEMU's unit; domid's).
fn image_figures(
    machine: &MachineOptions,
    app: &str,
    how: &'static str,
) -> Result<Vec<Figure>, String> {
    let (_, out) = boot_counted(machine, &load_app(app)?, None)?;
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
                value: v[v.len() / 2] as f64,
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
                value: value.trim().parse::<u64>().ok()? as f64,
                how: "VT-d model of QEMU 7.2, one reassignment of a device with an RMRR",
            })
        })
        .collect())
}

struct Figure {
    name: String,
    /// A count, or a ratio (rounded to two decimals).
    value: f64,
    how: &'static str,
}

/// The number after `prefix` in the first log line that starts with it.
fn number_after(lines: &[crate::logs::LogLine], prefix: &str) -> Option<u64> {
    lines.iter().find_map(|l| {
        let rest = l.message.strip_prefix(prefix)?;
        rest.split(' ').next()?.parse().ok()
    })
}

/// The kernel's "all tasks ready" line, read from the default system
/// (app.toml) booted under `-icount shift=0` with its console demo
/// replaced by a lone `shutdown` at the first prompt.
fn boot_figures(machine: &MachineOptions) -> Result<Vec<Figure>, String> {
    let app = load_app("app.toml")?;
    let script = qemu::Script {
        prompt: app.console.prompt.clone(),
        lines: vec![("shutdown".to_string(), 0)],
    };
    let (img, out) = boot_counted(machine, &app, Some(script))?;
    // `all tasks ready: X us since reset, Y us since kernel entry`.
    let ready = out
        .lines
        .iter()
        .find_map(|l| l.message.strip_prefix("all tasks ready: "))
        .ok_or("app.toml never logged \"all tasks ready\"")?;
    let number = |text: &str| text.split(' ').next().and_then(|n| n.parse::<u64>().ok());
    let since_reset = number(ready).ok_or("unreadable \"all tasks ready\" line")?;
    let since_entry = ready
        .split_once("since reset, ")
        .and_then(|(_, tail)| number(tail))
        .unwrap_or(0);
    let mut figures = vec![
        Figure {
            name: "boot_to_ready_us".into(),
            value: since_reset as f64,
            how: "app.toml, guest us from reset until every task has first blocked in a receive (or died): kernel TSC, PIT-calibrated, -icount shift=0",
        },
        Figure {
            name: "boot_to_ready_since_kernel_entry_us".into(),
            value: since_entry as f64,
            how: "the same, counted from the kernel's first instruction (excludes firmware)",
        },
    ];
    for (name, text, data) in &img.sizes {
        figures.push(Figure {
            name: format!("size_{name}_text"),
            value: *text as f64,
            how: "app.toml: bytes of the task's executable segments",
        });
        figures.push(Figure {
            name: format!("size_{name}_data"),
            value: *data as f64,
            how: "app.toml: bytes of the task's writable segments (data + bss)",
        });
    }
    let image_size = std::fs::metadata(&img.image).map(|m| m.len()).unwrap_or(0);
    figures.push(Figure {
        name: "size_image_file".into(),
        value: image_size as f64,
        how: "app.toml: bytes of the bootable ELF, with debug info",
    });
    Ok(figures)
}

/// Instructions of one reassignment on the default system before issue #20
/// (fixed-layout IDL messages): the run its goals compare against.
const REASSIGN_BEFORE_FIXED_LAYOUTS: [(&str, f64); 3] = [
    ("pcie_endpoint", 16_979.0),
    ("rmrr_endpoint", 30_440.0),
    ("bridged_legacy", 31_739.0),
];

/// The device kinds of the reassignment table.
const DEVICE_KINDS: [&str; 3] = ["pcie_endpoint", "rmrr_endpoint", "bridged_legacy"];

/// The goals (issues #9 and #20), each with the figure that decides it and
/// its verdict.
fn print_goals(figures: &[Figure]) {
    let get = |n: &str| figures.iter().find(|x| x.name == n).map(|x| x.value);
    let verdict = |ok: bool| if ok { "met" } else { "NOT MET" };
    println!("\ngoals");
    let line = |goal: &str, value: Option<f64>, unit: &str, ok: &dyn Fn(f64) -> bool| match value {
        Some(v) => println!("  {goal:<64} {v:>9.2}{unit:<4} {}", verdict(ok(v))),
        None => println!("  {goal:<64} {:>13} not measured", ""),
    };
    line(
        "raw IPC round trip <= 380 instructions (unchanged; seL4's is 425)",
        get("raw_ipc_0_bytes"),
        "",
        &|v| v <= 380.0,
    );
    line(
        "raw IPC round trip <= 2x the floor",
        get("raw_ipc_0_bytes_over_floor"),
        "x",
        &|v| v <= 2.0,
    );
    line(
        "the IDL adds <= 150 instructions (16-byte byte-array request)",
        get("idl_overhead_16_bytes"),
        "",
        &|v| v <= 150.0,
    );
    line(
        "the IDL adds <= 100 instructions (BenchRecord struct request)",
        get("idl_overhead_16_bytes_struct"),
        "",
        &|v| v <= 100.0,
    );
    line(
        "the IDL adds <= 100 instructions (MemRange, two u64)",
        get("idl_overhead_16_bytes_u64_fields"),
        "",
        &|v| v <= 100.0,
    );
    line(
        "domid acquire over IDL <= 700 instructions",
        get("domid_acquire_ipc"),
        "",
        &|v| v <= 700.0,
    );
    let worst = DEVICE_KINDS
        .iter()
        .filter_map(|kind| get(&format!("reassign_{kind}_default_over_fused")))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    line(
        "default system <= 1.5x the fused build (worst device)",
        worst,
        "x",
        &|v| v <= 1.5,
    );
    line(
        "default system <= 1.1x the fused build (worst device)",
        worst,
        "x",
        &|v| v <= 1.1,
    );
    let floor = DEVICE_KINDS
        .iter()
        .filter_map(|kind| get(&format!("reassign_{kind}_default_over_fused_floor")))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(floor) = floor {
        println!(
            "  {:<64} {floor:>9.2}x    (the kernel's own round trips, with a free IDL)",
            "  least ratio the extra kernel messages allow (worst device)"
        );
    }
    for (kind, before) in REASSIGN_BEFORE_FIXED_LAYOUTS {
        line(
            &format!("one reassignment, {kind}: fewer than {before} instructions"),
            get(&format!("reassign_{kind}_default_instructions")),
            "",
            &|v| v < before,
        );
    }
    // Per requester ID: one write, one device-selective context-cache
    // flush, one domain-selective IOTLB flush (old DID), nothing global.
    let per_rid = DEVICE_KINDS.iter().all(|kind| {
        let f = |what: &str| get(&format!("reassign_{kind}_default_{what}"));
        let writes = f("context_writes");
        writes.is_some()
            && writes == f("context_cache_device")
            && writes == f("iotlb_domain")
            && f("context_cache_global") == Some(0.0)
            && f("context_cache_domain") == Some(0.0)
            && f("iotlb_global") == Some(0.0)
    });
    println!(
        "  {:<64} {:>13} {}",
        "per requester ID: 1 write, 2 invalidations (old DID), 0 global",
        if per_rid { "all devices" } else { "not all" },
        verdict(per_rid)
    );
    line(
        "boot to all tasks ready < 50 ms of guest time",
        get("boot_to_ready_us").map(|us| us / 1000.0),
        "ms",
        &|v| v < 50.0,
    );
}

/// For each device kind, the ratio default/fused the extra kernel messages
/// of the default system impose even if the IDL cost nothing: (fused + extra
/// messages x raw round trip) / fused.
fn reassign_floor_figures(figures: &[Figure]) -> Vec<Figure> {
    let get = |n: &str| figures.iter().find(|x| x.name == n).map(|x| x.value);
    let Some(round_trip) = get("raw_ipc_0_bytes") else {
        return Vec::new();
    };
    DEVICE_KINDS
        .iter()
        .filter_map(|kind| {
            let fused = get(&format!("reassign_{kind}_fused_instructions"))?;
            let extra = get(&format!("reassign_{kind}_default_kernel_ipc"))?
                - get(&format!("reassign_{kind}_fused_kernel_ipc"))?;
            (fused > 0.0).then(|| Figure {
                name: format!("reassign_{kind}_default_over_fused_floor"),
                value: ((fused + extra * round_trip) / fused * 100.0).round() / 100.0,
                how: "(fused + extra kernel messages x raw_ipc_0_bytes) / fused: the least default/fused ratio with an IDL that cost nothing",
            })
        })
        .collect()
}

/// Runs the benchmarks.
pub fn run(machine: &MachineOptions) -> Result<ExitCode, String> {
    qemu::ensure_installed()?;
    let (_, out) = boot_counted(machine, &load_app("apps/bench.toml")?, None)?;
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
                value: p.next()?.parse::<u64>().ok()? as f64,
                how,
            })
        })
        .collect();
    let switch = number_after(&out.lines, "address-space switch: ")
        .ok_or("the benchmark kernel logged no address-space switch")?;
    figures.push(Figure {
        name: "address_space_switch".into(),
        value: switch as f64,
        how: "kernel switch_to between two tasks (CR3, TSS.RSP0, save-area pointer), timed by the kernel at boot: median of 33 pairs / 2, minus an empty TSC read",
    });
    let get = |n: &str, f: &[Figure]| f.iter().find(|x| x.name == n).map(|x| x.value);
    let raw0 = get("raw_ipc_0_bytes", &figures).unwrap_or(0.0);
    let raw16 = get("raw_ipc_16_bytes", &figures).unwrap_or(0.0);
    let idl16 = get("idl_ipc_16_bytes", &figures).unwrap_or(0.0);
    let idl16_struct = get("idl_ipc_16_bytes_struct", &figures).unwrap_or(0.0);
    let null = get("null_syscall", &figures).unwrap_or(0.0);
    let floor = 2.0 * null + 2.0 * switch as f64;
    figures.push(Figure {
        name: "ipc_floor".into(),
        value: floor,
        how: "2 x null_syscall + 2 x address_space_switch: a round trip can do no less",
    });
    figures.push(Figure {
        name: "raw_ipc_0_bytes_over_floor".into(),
        value: if floor > 0.0 {
            (raw0 / floor * 100.0).round() / 100.0
        } else {
            0.0
        },
        how: "raw_ipc_0_bytes / ipc_floor (goal <= 2)",
    });
    figures.push(Figure {
        name: "idl_overhead_16_bytes".into(),
        value: (idl16 - raw16).max(0.0),
        how: "idl_ipc_16_bytes - raw_ipc_16_bytes (argument [u8; 16])",
    });
    figures.push(Figure {
        name: "idl_overhead_16_bytes_struct".into(),
        value: (idl16_struct - raw16).max(0.0),
        how: "idl_ipc_16_bytes_struct - raw_ipc_16_bytes (argument and reply an idl-types struct of the system's field kinds: Bdf, DomainId, Did, PageRange, Access, ReassignMode, bool; a 22-byte fixed layout, 24 on the wire)",
    });
    let idl16_u64 = get("idl_ipc_16_bytes_u64_fields", &figures).unwrap_or(0.0);
    figures.push(Figure {
        name: "idl_overhead_16_bytes_u64_fields".into(),
        value: (idl16_u64 - raw16).max(0.0),
        how: "idl_ipc_16_bytes_u64_fields - raw_ipc_16_bytes (argument and reply a MemRange: two u64, a 16-byte fixed layout)",
    });
    figures.push(Figure {
        name: "sel4_fastpath_round_trip".into(),
        value: SEL4_ROUND_TRIP as f64,
        how: "reference: sel4bench Call 199 + ReplyRecv 226, same method",
    });
    figures.extend(boot_figures(machine)?);
    let (reassign_figures, reassign_table) = reassign::figures(machine)?;
    figures.extend(reassign_figures);
    let floors = reassign_floor_figures(&figures);
    figures.extend(floors);
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
    println!("{:<40} {:>10}  how", "figure", "value");
    for f in &figures {
        println!("{:<40} {:>10}  {}", f.name, f.value, f.how);
    }
    print!("{reassign_table}");
    if raw0 > 0.0 && floor > 0.0 {
        println!(
            "\nraw IPC round trip: {raw0} instructions = {:.2}x seL4's fastpath ({SEL4_ROUND_TRIP}), {:.2}x the floor ({floor})",
            raw0 / SEL4_ROUND_TRIP as f64,
            raw0 / floor,
        );
    }
    print_goals(&figures);
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
