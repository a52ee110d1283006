//! One reassignment, priced three ways on the same machine (three edu
//! devices, QEMU's VT-d, the default system's app.toml):
//!
//! - **default**: app.toml, every server its own task;
//! - **fused**: `apps/fused.toml`, acpi, iommu, domid and broker in one task
//!   over the in-process transport (what isolation costs is the ratio);
//! - **two-step**: app.toml with the broker's test-only `two-step` feature,
//!   the pre-XSA-400 way (clear each context entry, then set it), so the
//!   table shows what Xen saves.
//!
//! Each system boots under `-icount shift=0` and the console's `bench`
//! command times N reassignments of each device (one TSC tick is one
//! guest instruction) and reads the iommu's counters around them: context
//! writes and invalidations by granularity, as QEMU's unit saw them, and
//! the kernel's count of the IPC messages delivered meanwhile. The
//! simulator (the real broker and servers, traced transport;
//! `sim/examples/reassign_messages.rs`) counts the same messages as a
//! cross-check.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Figure;
use crate::image;
use crate::qemu::{self, Exit, MachineOptions};

/// Reassignments timed per device (odd: the median is one of them).
const REPETITIONS: u32 = 21;

/// The three kinds of device the issue names: (kind, edu device of
/// app.toml, the domain it starts in, the other domain, the sim's name).
const DEVICES: [(&str, &str, &str, &str); 3] = [
    ("pcie_endpoint", "edu0", "dom_a", "dom_b"),
    ("rmrr_endpoint", "edu2", "dom_a", "dom_b"),
    ("bridged_legacy", "edu1", "dom_b", "dom_a"),
];

/// The unit's work the console reports, per reassignment.
const COUNTERS: [&str; 7] = [
    "context_writes",
    "context_cache_global",
    "context_cache_domain",
    "context_cache_device",
    "iotlb_global",
    "iotlb_domain",
    "iotlb_page",
];

/// How the QEMU figures are measured.
const HOW_TIME: &str = "guest instructions per Broker.reassign call seen by the console, TCG -icount shift=0, median of 21";
const HOW_COUNT: &str = "per reassignment, QEMU's VT-d unit as the iommu's counters saw it";
const HOW_RATIO: &str = "default / fused instructions (goal <= 1.5)";
const HOW_MESSAGES: &str =
    "kernel IPC messages delivered per reassignment, incl. the client's call (kernel's count, QEMU)";
const HOW_SIMULATED: &str =
    "the same counted by the simulator (real broker and servers, traced transport): a cross-check";
const HOW_WINDOWS: &str = "RMRR translation windows the simulator's observer saw";

/// A system to boot and what to call its figures.
struct Variant {
    label: &'static str,
    app: &'static str,
    broker_feature: Option<&'static str>,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        label: "default",
        app: "app.toml",
        broker_feature: None,
    },
    Variant {
        label: "fused",
        app: "apps/fused.toml",
        broker_feature: None,
    },
    Variant {
        label: "two_step",
        app: "app.toml",
        broker_feature: Some("two-step"),
    },
];

/// What one boot reported: per device, the samples and the counters.
#[derive(Default)]
struct Report {
    samples: BTreeMap<String, Vec<u64>>,
    totals: BTreeMap<String, u64>,
}

fn boot(machine: &MachineOptions, v: &Variant) -> Result<Report, String> {
    let mut app = super::load_app(v.app)?;
    if let Some(feature) = v.broker_feature {
        let broker = app
            .tasks
            .iter_mut()
            .find(|t| t.name == "broker")
            .ok_or_else(|| format!("{}: no task named broker", v.app))?;
        broker.features.push(feature.to_string());
        // Its own build directory, so the default image is left alone.
        app.name = format!("{}-{}", app.name, v.label);
    }
    let mut lines: Vec<(String, u64)> = DEVICES
        .iter()
        .map(|(_, dev, from, to)| (format!("bench {dev} {from} {to} {REPETITIONS}"), 0))
        .collect();
    lines.push(("shutdown".to_string(), 0));
    let script = qemu::Script {
        prompt: app.console.prompt.clone(),
        lines,
    };
    let (_, out) = super::boot_counted(machine, &app, Some(script))?;
    if out.exit != Exit::Pass {
        return Err(format!(
            "{} ({}) did not finish: {:?}",
            v.app, v.label, out.exit
        ));
    }
    for answer in &out.answers {
        if answer.contains("error") {
            return Err(format!("{} ({}): {}", v.app, v.label, answer.trim()));
        }
    }
    let mut report = Report::default();
    for l in &out.lines {
        let Some(rest) = l.message.strip_prefix("BENCH reassign_") else {
            continue;
        };
        let Some((name, value)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<u64>() else {
            continue;
        };
        if name.contains('_') {
            report.totals.insert(name.to_string(), value);
        } else {
            report
                .samples
                .entry(name.to_string())
                .or_default()
                .push(value);
        }
    }
    Ok(report)
}

/// `NAME VALUE` lines of the simulator's message counts.
fn messages() -> Result<BTreeMap<String, u64>, String> {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(image::root())
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "sim",
            "--features",
            "knobs",
            "--example",
            "reassign_messages",
        ])
        .output()
        .map_err(|e| format!("cannot run the simulator: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the simulator's message count failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect())
}

fn median(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn figure(name: String, value: f64, how: &'static str) -> Figure {
    Figure { name, value, how }
}

/// Boots the three systems and returns the figures and a table of them.
pub fn figures(machine: &MachineOptions) -> Result<(Vec<Figure>, String), String> {
    let mut reports = BTreeMap::new();
    for v in &VARIANTS {
        reports.insert(v.label, boot(machine, v)?);
    }
    let msgs = messages()?;
    let mut figures = Vec::new();
    let mut table = Vec::new();
    for (kind, dev, _, _) in DEVICES {
        let mut time = BTreeMap::new();
        for v in &VARIANTS {
            let report = &reports[v.label];
            let samples = report.samples.get(dev).map(Vec::as_slice).unwrap_or(&[]);
            let t = median(samples)
                .ok_or_else(|| format!("{} ({}) timed no reassignment of {dev}", v.app, v.label))?;
            time.insert(v.label, t);
            figures.push(figure(
                format!("reassign_{kind}_{}_instructions", v.label),
                t as f64,
                HOW_TIME,
            ));
            let count = report
                .totals
                .get(&format!("{dev}_count"))
                .copied()
                .unwrap_or(0);
            let mut row = vec![t as f64];
            for c in COUNTERS {
                let total = report
                    .totals
                    .get(&format!("{dev}_{c}"))
                    .copied()
                    .unwrap_or(0);
                let per = if count > 0 {
                    (total as f64 / count as f64 * 100.0).round() / 100.0
                } else {
                    0.0
                };
                row.push(per);
                if v.label != "fused" {
                    figures.push(figure(
                        format!("reassign_{kind}_{}_{c}", v.label),
                        per,
                        HOW_COUNT,
                    ));
                }
            }
            let variant = if v.label == "two_step" {
                "two_step"
            } else {
                "direct"
            };
            let ipc_key = if v.label == "fused" {
                "fused"
            } else {
                "default"
            };
            let simulated = msgs
                .get(&format!("reassign_{kind}_{variant}_kernel_ipc_{ipc_key}"))
                .copied()
                .unwrap_or(0);
            let delivered = report
                .totals
                .get(&format!("{dev}_kernel_messages"))
                .copied()
                .unwrap_or(0);
            let ipc = if count > 0 {
                (delivered as f64 / count as f64 * 100.0).round() / 100.0
            } else {
                0.0
            };
            figures.push(figure(
                format!("reassign_{kind}_{}_kernel_ipc_simulated", v.label),
                simulated as f64,
                HOW_SIMULATED,
            ));
            let windows = msgs
                .get(&format!("reassign_{kind}_{variant}_observer_violations"))
                .copied()
                .unwrap_or(0);
            figures.push(figure(
                format!("reassign_{kind}_{}_kernel_ipc", v.label),
                ipc,
                HOW_MESSAGES,
            ));
            if v.label == "two_step" {
                figures.push(figure(
                    format!("reassign_{kind}_two_step_rmrr_windows"),
                    windows as f64,
                    HOW_WINDOWS,
                ));
            }
            row.push(ipc);
            row.push(simulated as f64);
            table.push((format!("{kind} ({dev}) {}", v.label), row));
        }
        let ratio = time["default"] as f64 / time["fused"].max(1) as f64;
        figures.push(figure(
            format!("reassign_{kind}_default_over_fused"),
            (ratio * 100.0).round() / 100.0,
            HOW_RATIO,
        ));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\none reassignment ({HOW_TIME}; unit work and kernel IPC messages per reassignment; sim: the simulator's count)"
    );
    let _ = writeln!(
        out,
        "{:<34} {:>9} {:>6} {:>17} {:>13} {:>5} {:>4}",
        "device and system", "instr", "ctx wr", "ctx-cache g/d/dev", "iotlb g/d/pg", "ipc", "sim"
    );
    for (name, r) in &table {
        let n = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v}")
            } else {
                format!("{v:.2}")
            }
        };
        let _ = writeln!(
            out,
            "{:<34} {:>9} {:>6} {:>17} {:>13} {:>5} {:>4}",
            name,
            n(r[0]),
            n(r[1]),
            format!("{}/{}/{}", n(r[2]), n(r[3]), n(r[4])),
            format!("{}/{}/{}", n(r[5]), n(r[6]), n(r[7])),
            n(r[8]),
            n(r[9])
        );
    }
    Ok((figures, out))
}
