//! app.toml: the system description, and every check made before anything
//! is built.
//!
//! The file names the tasks (crate, priority, stack, peers, regions, ports,
//! interrupts, notifications), the regions they are granted, and the QEMU
//! machine to boot on. Tasks are numbered in file order; the supervisor is
//! the one task at priority 0. A mistake is reported as one line naming the
//! table and key, e.g. `app.toml: [tasks.ping] task-slots: no task "pongg"`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppToml {
    pub name: String,
    #[serde(default)]
    pub kernel: KernelToml,
    #[serde(default)]
    pub qemu: QemuToml,
    pub tasks: toml::map::Map<String, toml::Value>,
    #[serde(default)]
    pub regions: toml::map::Map<String, toml::Value>,
    /// Present in test images: how the harness treats them.
    pub test: Option<TestToml>,
    /// Devices custody manages (see `system.rs`).
    #[serde(default)]
    pub devices: toml::map::Map<String, toml::Value>,
    /// DMA domains.
    #[serde(default)]
    pub domains: toml::map::Map<String, toml::Value>,
    /// Platform facts QEMU's firmware lacks (extra RMRRs).
    pub platform: Option<toml::Value>,
    /// The broker's policy.
    pub broker: Option<toml::Value>,
    /// Console scripts: the demo of `cargo xtask run` and console scenarios.
    #[serde(default)]
    pub console: ConsoleToml,
    /// The sizes of the system's tables (see `app/capacity.rs`).
    #[serde(default)]
    pub capacity: toml::map::Map<String, toml::Value>,
}

/// `[console]`: what xtask types into the operator console.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsoleToml {
    /// The prompt that says the console waits for a line.
    #[serde(default = "default_prompt")]
    pub prompt: String,
    /// `cargo xtask run`'s demo: lines typed one per prompt, with a note
    /// printed before each.
    #[serde(default)]
    pub demo: Vec<DemoStep>,
    /// Named scenarios `cargo xtask test` scores.
    #[serde(default)]
    pub scenario: Vec<ConsoleScenario>,
}

fn default_prompt() -> String {
    "custody> ".into()
}

/// One step of the demo.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DemoStep {
    /// What the step shows, for the summary.
    pub say: String,
    /// The console line.
    pub send: String,
    /// Text the answer must contain for the step to count as working.
    pub expect: Option<String>,
}

/// A console scenario: lines and what each answer must (not) contain.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConsoleScenario {
    pub name: String,
    pub steps: Vec<ConsoleStep>,
}

/// One line of a console scenario.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConsoleStep {
    pub send: String,
    /// The answer must contain this.
    pub expect: Option<String>,
    /// The answer must not contain this.
    pub refuse: Option<String>,
    /// Wait this long (ms of real time) before sending.
    #[serde(default)]
    pub after_ms: u64,
}

/// `[kernel]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KernelToml {
    /// `DEFMT_LOG` filter of the kernel and tasks (default "info").
    pub log: Option<String>,
    /// Test images only: the kernel takes this as the RSDP's root table
    /// pointer (hostile firmware, e.g. a table near 4 GiB).
    pub test_acpi_root: Option<u64>,
}

/// `[qemu]`: the machine.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QemuToml {
    #[serde(default = "default_cpu")]
    pub cpu: String,
    #[serde(default = "default_memory")]
    pub memory: String,
    #[serde(default = "default_iommu")]
    pub iommu: String,
    #[serde(default)]
    pub devices: Vec<String>,
    /// Seconds before a run counts as hung.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

fn default_cpu() -> String {
    "max".into()
}
fn default_memory() -> String {
    "256M".into()
}
fn default_iommu() -> String {
    "intremap=off".into()
}
fn default_timeout() -> u64 {
    120
}

impl Default for QemuToml {
    fn default() -> Self {
        QemuToml {
            cpu: default_cpu(),
            memory: default_memory(),
            iommu: default_iommu(),
            devices: Vec::new(),
            timeout: default_timeout(),
        }
    }
}

/// `[test]`: marks a test image.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestToml {
    /// Scenario names the image must report, in order.
    pub scenarios: Vec<String>,
    /// Scenarios judged from the decoded log: each passes when one log
    /// line contains every one of its strings.
    #[serde(default)]
    pub log: Vec<LogExpect>,
}

/// `[[test.log]]`: a scenario some decoded log line must satisfy.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogExpect {
    /// The scenario's name.
    pub name: String,
    /// Strings that must all appear in one line (task name, level and
    /// message, as `cargo xtask run` prints it).
    pub line_with: Vec<String>,
}

impl LogExpect {
    /// Whether some line satisfies it.
    pub fn met_by<'a>(&self, mut lines: impl Iterator<Item = &'a str>) -> bool {
        lines.any(|l| self.line_with.iter().all(|want| l.contains(want.as_str())))
    }
}

/// `[tasks.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskToml {
    #[serde(rename = "crate")]
    pub krate: String,
    pub priority: u8,
    #[serde(default = "default_stack")]
    pub stacksize: u64,
    #[serde(default = "default_true")]
    pub start: bool,
    #[serde(default)]
    pub supervisor: bool,
    #[serde(default)]
    pub max_sizes: Option<MaxSizes>,
    #[serde(default)]
    pub task_slots: Vec<Slot>,
    /// Tasks this one posts notifications to (posting never blocks, so the
    /// uphill rule does not apply): `{ task = "notification" }` or
    /// `{ task = ["a", "b"] }`. The kernel refuses any other post.
    #[serde(default)]
    pub notify: BTreeMap<String, Notes>,
    #[serde(default)]
    pub notifications: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub io_ports: Vec<PortsToml>,
    /// Notification name → interrupt vector (an MSI's data).
    #[serde(default)]
    pub interrupts: BTreeMap<String, u8>,
    /// Notification name → IOAPIC input (GSI): ISA interrupts (GSI < 16)
    /// are edge-triggered active-high, PCI ones level-triggered active-low.
    #[serde(default)]
    pub ioapic: BTreeMap<String, u8>,
    /// Extra cargo features of the task crate.
    #[serde(default)]
    pub features: Vec<String>,
    /// The operator's powers: the supervisor's task reports, message
    /// counts and shutdown (`Supervisor` callers `@operators`).
    #[serde(default)]
    pub operator: bool,
    /// Fault injection through the supervisor (`@fault-injectors`): test
    /// images and the demo's `kill`, never a production system.
    #[serde(default)]
    pub fault_injection: bool,
    /// The one task (the broker) the kernel lets grant and revoke device
    /// registers (`[devices] bar0-size`).
    #[serde(default)]
    pub device_custodian: bool,
}

fn default_stack() -> u64 {
    16 * 1024
}
fn default_true() -> bool {
    true
}

/// `max-sizes = { text = N, data = N }`, bytes.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct MaxSizes {
    pub text: Option<u64>,
    pub data: Option<u64>,
}

/// The notifications of one `notify` entry: one name or a list.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum Notes {
    One(String),
    Many(Vec<String>),
}

impl Notes {
    /// The names, in order.
    pub fn names(&self) -> Vec<String> {
        match self {
            Notes::One(n) => vec![n.clone()],
            Notes::Many(v) => v.clone(),
        }
    }
}

/// A task slot: `"peer"` or `{ slot = "peer" }`.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum Slot {
    Same(String),
    Renamed(BTreeMap<String, String>),
}

/// `{ base = N, count = N }`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct PortsToml {
    pub base: u16,
    pub count: u16,
}

/// `[regions.NAME]`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegionToml {
    pub kind: RegionKind,
    pub size: u64,
    pub base: Option<u64>,
    #[serde(default = "default_true")]
    pub writable: bool,
}

/// What a region is: the kernel's own enum, read from app.toml's kebab-case
/// names (`acpi-tables`).
pub use config_schema::kernel::RegionKind;

/// A checked task.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub krate: String,
    pub priority: u8,
    pub stacksize: u64,
    pub start: bool,
    pub max_sizes: Option<MaxSizes>,
    /// (slot name, peer index).
    pub slots: Vec<(String, usize)>,
    /// (task name, task index, notification bits in that task).
    pub notify: Vec<(String, usize, u32)>,
    pub notifications: Vec<String>,
    pub regions: Vec<String>,
    pub io_ports: Vec<PortsToml>,
    /// (vector, notification bit, IOAPIC input if routed through it).
    pub irqs: Vec<(u8, u32, Option<u8>)>,
    pub features: Vec<String>,
    /// May use the supervisor's operator powers.
    pub operator: bool,
    /// May ask the supervisor to fault tasks.
    pub fault_injection: bool,
}

/// A checked region.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub kind: RegionKind,
    pub size: u64,
    pub base: Option<u64>,
    pub writable: bool,
}

/// A checked application.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub path: PathBuf,
    pub log: String,
    pub qemu: QemuToml,
    pub tasks: Vec<Task>,
    pub regions: Vec<Region>,
    pub supervisor: usize,
    /// The task with `device-custodian = true`, if any.
    pub custodian: Option<usize>,
    pub fault_bit: u32,
    /// `[kernel] test-acpi-root`.
    pub test_acpi_root: Option<u64>,
    pub test: Option<TestToml>,
    /// Devices, domains, RMRRs, operators.
    pub system: crate::system::System,
    /// Console demo and scenarios.
    pub console: ConsoleToml,
    /// The sizes of the system's tables, for every firmware build.
    pub capacity: capacity::Capacities,
}

/// A mistake in app.toml, naming where.
#[derive(Debug)]
pub struct AppError {
    pub file: String,
    pub place: String,
    pub message: String,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {} {}", self.file, self.place, self.message)
    }
}

/// The first vector app.toml may route (below are exceptions and the timer).
pub const FIRST_DEVICE_VECTOR: u8 = 48;
/// IOAPIC input `n` arrives as vector `IOAPIC_VECTOR_BASE + n`; MSI vectors
/// stay below.
pub const IOAPIC_VECTOR_BASE: u8 = 224;
/// Inputs of the (one) IOAPIC.
pub const IOAPIC_INPUTS: u8 = 24;
/// Notification bits per task.
const MAX_NOTIFICATIONS: usize = 32;
/// Tasks in one image (the kernel's scheduling and rights bit sets).
const MAX_TASKS: usize = 64;
/// Regions the kernel can map for one task besides its segments and stack.
const MAX_TASK_REGIONS: usize = 16;
const PAGE: u64 = 4096;

impl App {
    /// Reads and checks an app.toml. `crates` are the package names in the
    /// workspace, to check each task's crate exists.
    pub fn load(path: &Path, crates: &[CrateInfo]) -> Result<App, AppError> {
        let file = path.display().to_string();
        let err = |place: &str, message: String| AppError {
            file: file.clone(),
            place: place.to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err("file:", e.to_string()))?;
        Self::parse(&text, path, crates)
    }

    /// Checks the text of an app.toml found at `path` (relative paths in
    /// it are from there). Any text gives an app or an error naming the
    /// place.
    pub fn parse(text: &str, path: &Path, crates: &[CrateInfo]) -> Result<App, AppError> {
        let file = path.display().to_string();
        let err = |place: &str, message: String| AppError {
            file: file.clone(),
            place: place.to_string(),
            message,
        };
        let raw: AppToml = toml::from_str(text).map_err(|e| {
            let msg = match e.message() {
                // The parser says nothing of a control character in a
                // comment (found by fuzzing): name the first one.
                "" => match text
                    .chars()
                    .find(|c| c.is_control() && !"\t\n\r".contains(*c))
                {
                    Some(c) => format!("control character U+{:04X} is not allowed here", c as u32),
                    None => "not valid TOML".to_string(),
                },
                m => m.to_string(),
            };
            let place = match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    format!("line {line}:")
                }
                None => "file:".into(),
            };
            err(&place, msg)
        })?;
        check(raw, path, crates, &err)
    }
}

fn check(
    raw: AppToml,
    path: &Path,
    crates: &[CrateInfo],
    err: &dyn Fn(&str, String) -> AppError,
) -> Result<App, AppError> {
    let mut regions = Vec::new();
    for (name, v) in &raw.regions {
        let place = format!("[regions.{name}]");
        let r: RegionToml = v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| err(&place, e.message().trim().to_string()))?;
        if r.size == 0 || !r.size.is_multiple_of(PAGE) {
            return Err(err(
                &place,
                format!("size: {:#x} is not a non-zero multiple of 4 KiB", r.size),
            ));
        }
        if let Some(b) = r.base {
            if !b.is_multiple_of(PAGE) {
                return Err(err(&place, format!("base: {b:#x} is not 4 KiB aligned")));
            }
        }
        if r.kind == RegionKind::Mmio && r.base.is_none() {
            return Err(err(
                &place,
                "base: an mmio region needs its physical address".into(),
            ));
        }
        if matches!(r.kind, RegionKind::Ram | RegionKind::AcpiTables) && r.base.is_some() {
            return Err(err(
                &place,
                "base: this kind is placed by the kernel; remove base".into(),
            ));
        }
        if r.kind == RegionKind::AcpiTables && r.writable {
            return Err(err(
                &place,
                "writable: the ACPI tables are read-only; set writable = false".into(),
            ));
        }
        regions.push(Region {
            name: name.clone(),
            kind: r.kind,
            size: r.size,
            base: r.base,
            writable: r.writable,
        });
    }
    for (i, a) in regions.iter().enumerate() {
        for b in regions.iter().skip(i + 1) {
            if let (Some(x), Some(y)) = (a.base, b.base) {
                if x < y + b.size && y < x + a.size {
                    return Err(err(
                        &format!("[regions.{}]", b.name),
                        format!(
                            "base: overlaps region \"{}\" ({x:#x}..{:#x})",
                            a.name,
                            x + a.size
                        ),
                    ));
                }
            }
        }
    }

    let names: Vec<String> = raw.tasks.keys().cloned().collect();
    if names.len() > MAX_TASKS {
        return Err(err(
            "[tasks]",
            format!(
                "{} tasks, more than {MAX_TASKS}: the kernel keeps a bit per task",
                names.len()
            ),
        ));
    }
    let mut parsed = Vec::new();
    for (name, v) in &raw.tasks {
        let place = format!("[tasks.{name}]");
        let t: TaskToml = v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| err(&place, e.message().trim().to_string()))?;
        parsed.push((name.clone(), t));
    }
    let sup: Vec<&String> = parsed
        .iter()
        .filter(|(_, t)| t.supervisor)
        .map(|(n, _)| n)
        .collect();
    let supervisor = match sup.as_slice() {
        [one] => names.iter().position(|n| n == *one).unwrap_or(0),
        [] => return Err(err("[tasks]", "no task has supervisor = true".into())),
        [_, second, ..] => {
            return Err(err(
                &format!("[tasks.{second}]"),
                "supervisor: a second supervisor".into(),
            ))
        }
    };

    let custodians: Vec<&String> = parsed
        .iter()
        .filter(|(_, t)| t.device_custodian)
        .map(|(n, _)| n)
        .collect();
    let custodian = match custodians.as_slice() {
        [] => None,
        [one] => names.iter().position(|n| n == *one),
        [_, second, ..] => {
            return Err(err(
                &format!("[tasks.{second}]"),
                "device-custodian: a second custodian (one task moves device registers)".into(),
            ))
        }
    };

    let mut tasks = Vec::new();
    for (name, t) in &parsed {
        let place = format!("[tasks.{name}]");
        let Some(info) = crates.iter().find(|c| c.name == t.krate) else {
            return Err(err(
                &place,
                format!("crate: no crate named \"{}\" in the workspace", t.krate),
            ));
        };
        let is_sup = names.get(supervisor) == Some(name);
        if is_sup && t.priority != 0 {
            return Err(err(
                &place,
                "priority: the supervisor must have priority 0".into(),
            ));
        }
        if !is_sup && t.priority == 0 {
            return Err(err(
                &place,
                "priority: 0 is the supervisor's; two tasks at the supervisor's priority".into(),
            ));
        }
        if t.stacksize < PAGE || !t.stacksize.is_multiple_of(PAGE) {
            return Err(err(
                &place,
                format!("stacksize: {:#x} is not a multiple of 4 KiB", t.stacksize),
            ));
        }
        if t.notifications.len() > MAX_NOTIFICATIONS {
            return Err(err(
                &place,
                format!("notifications: more than {MAX_NOTIFICATIONS}"),
            ));
        }
        let mut slots = Vec::new();
        for s in &t.task_slots {
            let pairs: Vec<(String, String)> = match s {
                Slot::Same(p) => vec![(p.clone(), p.clone())],
                Slot::Renamed(m) => m.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            };
            for (slot, peer) in pairs {
                let Some(pi) = names.iter().position(|n| *n == peer) else {
                    return Err(err(&place, format!("task-slots: no task named \"{peer}\"")));
                };
                let (_, pt) = &parsed[pi];
                if pt.priority >= t.priority {
                    return Err(err(
                        &place,
                        format!(
                            "task-slots: \"{peer}\" (priority {}) is not uphill from {name} (priority {}): a task may only call higher-priority tasks",
                            pt.priority, t.priority
                        ),
                    ));
                }
                if let Some(peer_info) = crates.iter().find(|c| c.name == pt.krate) {
                    interfaces::check_slot(info, &slot, &peer, peer_info)
                        .map_err(|m| err(&place, m))?;
                }
                slots.push((slot, pi));
            }
        }
        let bound: Vec<String> = slots.iter().map(|(s, _)| s.clone()).collect();
        interfaces::check_all_bound(info, &bound).map_err(|m| err(&place, m))?;
        let mut notify = Vec::new();
        for (peer, notes) in &t.notify {
            let Some(pi) = names.iter().position(|n| n == peer) else {
                return Err(err(&place, format!("notify: no task named \"{peer}\"")));
            };
            let mut bits = 0u32;
            for note in notes.names() {
                let Some(bit) = parsed[pi].1.notifications.iter().position(|n| *n == note) else {
                    return Err(err(
                        &place,
                        format!("notify: task \"{peer}\" has no notification \"{note}\""),
                    ));
                };
                bits |= 1u32 << bit;
            }
            if bits == 0 {
                return Err(err(
                    &place,
                    format!("notify: no notification named for task \"{peer}\""),
                ));
            }
            notify.push((peer.clone(), pi, bits));
        }
        if t.regions.len() > MAX_TASK_REGIONS {
            return Err(err(
                &place,
                format!("regions: more than {MAX_TASK_REGIONS}"),
            ));
        }
        for r in &t.regions {
            if !regions.iter().any(|x| &x.name == r) {
                return Err(err(&place, format!("regions: no region named \"{r}\"")));
            }
        }
        let mut irqs = Vec::new();
        for (note, vector) in &t.interrupts {
            let Some(bit) = t.notifications.iter().position(|n| n == note) else {
                return Err(err(
                    &place,
                    format!("interrupts: \"{note}\" is not one of the task's notifications"),
                ));
            };
            if *vector < FIRST_DEVICE_VECTOR || *vector >= IOAPIC_VECTOR_BASE {
                return Err(err(
                    &place,
                    format!(
                        "interrupts: vector {vector} is reserved (use {FIRST_DEVICE_VECTOR}..={})",
                        IOAPIC_VECTOR_BASE - 1
                    ),
                ));
            }
            irqs.push((*vector, 1u32 << bit, None));
        }
        for (note, gsi) in &t.ioapic {
            let Some(bit) = t.notifications.iter().position(|n| n == note) else {
                return Err(err(
                    &place,
                    format!("ioapic: \"{note}\" is not one of the task's notifications"),
                ));
            };
            if *gsi >= IOAPIC_INPUTS {
                return Err(err(
                    &place,
                    format!("ioapic: input {gsi} does not exist (0..{IOAPIC_INPUTS})"),
                ));
            }
            irqs.push((IOAPIC_VECTOR_BASE + gsi, 1u32 << bit, Some(*gsi)));
        }
        for p in &t.io_ports {
            if p.count == 0 || p.base as u32 + p.count as u32 > 0x1000 {
                return Err(err(
                    &place,
                    format!("io-ports: {:#x}+{} is outside 0..0x1000", p.base, p.count),
                ));
            }
        }
        tasks.push(Task {
            name: name.clone(),
            krate: t.krate.clone(),
            priority: t.priority,
            stacksize: t.stacksize,
            start: t.start,
            max_sizes: t.max_sizes,
            slots,
            notify,
            notifications: t.notifications.clone(),
            regions: t.regions.clone(),
            io_ports: t.io_ports.clone(),
            irqs,
            features: t.features.clone(),
            operator: t.operator,
            fault_injection: t.fault_injection,
        });
    }
    let mut seen = BTreeMap::new();
    for t in &tasks {
        for (v, _, _) in &t.irqs {
            if let Some(other) = seen.insert(*v, t.name.clone()) {
                return Err(err(
                    &format!("[tasks.{}]", t.name),
                    format!("interrupts: vector {v} is already routed to {other}"),
                ));
            }
        }
    }
    let sup_task = &tasks[supervisor];
    let Some(fault) = sup_task.notifications.iter().position(|n| n == "fault") else {
        return Err(err(
            &format!("[tasks.{}]", sup_task.name),
            "notifications: the supervisor needs a \"fault\" notification".into(),
        ));
    };
    let capacities = capacity::check(&raw.capacity).map_err(|(place, msg)| err(&place, msg))?;
    if raw.kernel.test_acpi_root.is_some() && raw.test.is_none() {
        return Err(err(
            "[kernel]",
            "test-acpi-root: a hostile-firmware hook, only for test images (with [test])".into(),
        ));
    }
    let system_toml = crate::system::SystemToml {
        devices: raw.devices,
        domains: raw.domains,
        platform: raw.platform,
        broker: raw.broker,
    };
    let mut app = App {
        name: raw.name,
        path: path.to_path_buf(),
        log: raw.kernel.log.unwrap_or_else(|| "info".into()),
        qemu: raw.qemu,
        tasks,
        regions,
        supervisor,
        custodian,
        fault_bit: 1 << fault,
        test_acpi_root: raw.kernel.test_acpi_root,
        test: raw.test,
        system: Default::default(),
        console: raw.console,
        capacity: capacities,
    };
    names::check(&app).map_err(|(place, msg)| err(&place, msg))?;
    app.system =
        crate::system::check(system_toml, &app).map_err(|(place, msg)| err(&place, msg))?;
    let layout = crate::layout::layout(&app).map_err(|e| err("", e.0))?;
    crate::memory::check(&app, &layout).map_err(|(place, msg)| err(&place, msg))?;
    Ok(app)
}

// Paths spelled out so the fuzz crate can compile this file too.
#[path = "app/capacity.rs"]
pub mod capacity;
#[path = "app/interfaces.rs"]
pub mod interfaces;
#[path = "app/names.rs"]
pub mod names;

pub use interfaces::CrateInfo;

#[cfg(test)]
#[path = "app/tests.rs"]
mod tests;
