//! `cargo xtask build`: every task as its own ELF at its own addresses, then
//! the kernel with the generated task table, which is the bootable image.
//!
//! Firmware crates are built for the host target (the only one installed)
//! as freestanding static executables: `--target` keeps these flags away
//! from build scripts and proc-macros, the `firmware` profile aborts on
//! panic, and the kernel and tasks link with their own scripts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSegment, SegmentFlags};

use crate::app::{App, RegionKind};
use crate::layout::{self, Layout};

/// The one target we have.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Flags of every firmware compilation and link. `-Z emit-stack-sizes`
/// records each function's frame size in a `.stack_sizes` section, for the
/// static stack bound ([`crate::stack_bound`]); it needs
/// [`BOOTSTRAP`] on the stable toolchain, as Hubris does, and
/// `-Z allow-features=` (none) keeps every unstable language feature out
/// of the code all the same.
const FIRMWARE_RUSTFLAGS: &str = "-C no-redzone=yes -C force-frame-pointers=yes \
    -Z emit-stack-sizes -Z allow-features= \
    -C link-arg=-nostartfiles -C link-arg=-nostdlib -C link-arg=-static \
    -C link-arg=-no-pie -C link-arg=-Wl,--build-id=none";
/// Lets the stable compiler take the `-Z` flags above (and nothing else:
/// `-Z allow-features=` refuses every `#![feature]`).
const BOOTSTRAP: (&str, &str) = ("RUSTC_BOOTSTRAP", "1");

/// What a build produced.
pub struct Image {
    /// The bootable ELF (the kernel with the task table).
    pub image: PathBuf,
    /// Per task index, its ELF (for log decoding and debuggers).
    pub task_elves: Vec<PathBuf>,
    /// Per task: (name, text bytes, data bytes).
    pub sizes: Vec<(String, u64, u64)>,
    /// Per task: its static stack bound and its `stacksize`.
    pub stacks: Vec<(String, crate::stack_bound::Bound, u64)>,
}

/// The workspace root.
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Where one app's build products go.
pub fn out_dir(app: &App) -> PathBuf {
    root().join("target").join("custody").join(&app.name)
}

/// Builds `app`.
pub fn build(app: &App, quiet: bool) -> Result<Image, String> {
    let layout = layout::layout(app).map_err(|e| format!("{}: {}", app.path.display(), e.0))?;
    let out = out_dir(app);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut task_elves = Vec::new();
    let mut segments = Vec::new();
    let mut sizes = Vec::new();
    let mut stacks = Vec::new();
    for (i, task) in app.tasks.iter().enumerate() {
        let dir = out.join(&task.name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let config = dir.join("config.rs");
        write(&config, &task_config(app, &layout, i))?;
        let script = dir.join("task.ld");
        write(&script, &task_script(layout.tasks[i].base))?;
        let mut features = vec!["firmware".to_string()];
        features.extend(task.features.iter().cloned());
        let bin = crate::firmware_bin(&task.krate);
        let built = cargo_rustc(
            &task.krate,
            &bin,
            &features,
            &script,
            &[("CUSTODY_TASK_CONFIG", config.as_path())],
            &app.capacity,
            &app.log,
            quiet,
        )?;
        let elf = out.join(format!("{}.elf", task.name));
        std::fs::copy(&built, &elf).map_err(|e| format!("{}: {e}", built.display()))?;
        let segs = extract_segments(&elf, &dir)?;
        let text: u64 = segs
            .iter()
            .filter(|s| s.flags & 1 != 0)
            .map(|s| s.memsz)
            .sum();
        let data: u64 = segs
            .iter()
            .filter(|s| s.flags & 2 != 0)
            .map(|s| s.memsz)
            .sum();
        if let Some(max) = task.max_sizes {
            if let Some(limit) = max.text.filter(|l| text > *l) {
                return Err(format!(
                    "{}: [tasks.{}] max-sizes.text: text is {text} bytes, over the limit of {limit}",
                    app.path.display(),
                    task.name
                ));
            }
            if let Some(limit) = max.data.filter(|l| data > *l) {
                return Err(format!(
                    "{}: [tasks.{}] max-sizes.data: data is {data} bytes, over the limit of {limit}",
                    app.path.display(),
                    task.name
                ));
            }
        }
        let bytes = std::fs::read(&elf).map_err(|e| format!("{}: {e}", elf.display()))?;
        let bound = crate::stack_bound::graph(&bytes)
            .map(|g| crate::stack_bound::bound(&g))
            .map_err(|e| format!("{}: the stack bound: {e}", elf.display()))?;
        if bound.bytes > task.stacksize {
            return Err(format!(
                "{}: [tasks.{}] stacksize: {} bytes, but the deepest call path can use {} bytes: {}{}",
                app.path.display(),
                task.name,
                task.stacksize,
                bound.bytes,
                bound.path.join(" -> "),
                crate::stack_bound::caveats(&bound),
            ));
        }
        write(
            &dir.join("stack-bound.txt"),
            &crate::stack_bound::report(&task.name, &bound, task.stacksize),
        )?;
        stacks.push((task.name.clone(), bound, task.stacksize));
        sizes.push((task.name.clone(), text, data));
        segments.push(segs);
        task_elves.push(elf);
    }
    let kconfig = out.join("kernel-config.rs");
    write(
        &kconfig,
        &kernel_config(app, &layout, &segments, &task_elves)?,
    )?;
    let script = root().join("sys/kern/kernel.ld");
    let built = cargo_rustc(
        "kern",
        "kernel",
        &["firmware".to_string()],
        &script,
        &[("CUSTODY_KERNEL_CONFIG", kconfig.as_path())],
        &app.capacity,
        &app.log,
        quiet,
    )?;
    let image = out.join("image.elf");
    std::fs::copy(&built, &image).map_err(|e| format!("{}: {e}", built.display()))?;
    Ok(Image {
        image,
        task_elves,
        sizes,
        stacks,
    })
}

/// One firmware crate to lint: package, binary, features, config env var.
type LintUnit = (String, String, Vec<String>, (&'static str, PathBuf));

/// Runs clippy (`-D warnings`) over every firmware crate of `app` with the
/// configuration a build generated (so call [`build`] first).
pub fn clippy(app: &App) -> Result<(), String> {
    let out = out_dir(app);
    let mut units: Vec<LintUnit> = app
        .tasks
        .iter()
        .map(|t| {
            let mut features = vec!["firmware".to_string()];
            features.extend(t.features.iter().cloned());
            let config = out.join(&t.name).join("config.rs");
            (
                t.krate.clone(),
                crate::firmware_bin(&t.krate),
                features,
                ("CUSTODY_TASK_CONFIG", config),
            )
        })
        .collect();
    units.push((
        "kern".into(),
        "kernel".into(),
        vec!["firmware".into()],
        ("CUSTODY_KERNEL_CONFIG", out.join("kernel-config.rs")),
    ));
    for (package, bin, features, (key, path)) in units {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root())
            .args(["clippy", "--quiet", "--package", &package, "--bin", &bin])
            .args(["--profile", "firmware", "--target", TARGET])
            .arg("--target-dir")
            .arg(root().join("target").join("firmware"))
            .arg("--features")
            .arg(features.join(","))
            .args(["--", "-D", "warnings"])
            .env("RUSTFLAGS", FIRMWARE_RUSTFLAGS)
            .env(BOOTSTRAP.0, BOOTSTRAP.1)
            .env(key, path)
            .envs(app.capacity.env())
            .status()
            .map_err(|e| format!("cannot run cargo clippy: {e}"))?;
        if !status.success() {
            return Err(format!("clippy found problems in {package} ({bin})"));
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    // Leave the file alone when unchanged, so cargo does not rebuild.
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[allow(clippy::too_many_arguments)]
fn cargo_rustc(
    package: &str,
    bin: &str,
    features: &[String],
    script: &Path,
    env: &[(&str, &Path)],
    capacities: &crate::app::capacity::Capacities,
    log: &str,
    quiet: bool,
) -> Result<PathBuf, String> {
    let target_dir = root().join("target").join("firmware");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root())
        .args([
            "rustc",
            "--package",
            package,
            "--bin",
            bin,
            "--profile",
            "firmware",
        ])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--features")
        .arg(features.join(","));
    if quiet {
        cmd.arg("--quiet");
    }
    cmd.arg("--")
        .arg("-C")
        .arg(format!("link-arg=-T{}", script.display()))
        .args(["-C", "link-arg=-Tdefmt.x"])
        .env("RUSTFLAGS", FIRMWARE_RUSTFLAGS)
        .env(BOOTSTRAP.0, BOOTSTRAP.1)
        .env("DEFMT_LOG", log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for (k, v) in capacities.env() {
        cmd.env(k, v);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {package} ({bin}) failed"));
    }
    Ok(target_dir.join(TARGET).join("firmware").join(bin))
}

/// A loadable segment, saved as a file for the kernel to `include_bytes!`.
pub struct Seg {
    pub vaddr: u64,
    pub memsz: u64,
    /// ELF p_flags: 1 X, 2 W, 4 R.
    pub flags: u32,
    pub file: PathBuf,
}

fn extract_segments(elf: &Path, dir: &Path) -> Result<Vec<Seg>, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let obj = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let mut out = Vec::new();
    for (n, seg) in obj.segments().enumerate() {
        let SegmentFlags::Elf { p_flags } = seg.flags() else {
            continue;
        };
        let data = seg.data().map_err(|e| format!("{}: {e}", elf.display()))?;
        if seg.size() == 0 {
            continue;
        }
        if (data.len() as u64) > seg.size() || seg.address() % 4096 != 0 {
            return Err(format!(
                "{}: segment {n} at {:#x} is misaligned or larger on file than in memory",
                elf.display(),
                seg.address()
            ));
        }
        let file = dir.join(format!("seg{n}.bin"));
        write_bytes(&file, data)?;
        out.push(Seg {
            vaddr: seg.address(),
            memsz: seg.size(),
            flags: p_flags,
            file,
        });
    }
    Ok(out)
}

fn write_bytes(path: &Path, data: &[u8]) -> Result<(), String> {
    if std::fs::read(path).ok().as_deref() == Some(data) {
        return Ok(());
    }
    std::fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))
}

fn task_script(base: u64) -> String {
    format!(
        r#"/* Generated by cargo xtask: one task, linked at its own window. */
ENTRY(_start)
PHDRS
{{
    text PT_LOAD FLAGS(5);
    rodata PT_LOAD FLAGS(4);
    data PT_LOAD FLAGS(6);
}}
SECTIONS
{{
    . = {base:#x};
    .text : {{ KEEP(*(.text.start)) *(.text .text.*) }} :text
    . = ALIGN(4096);
    .rodata : {{ *(.rodata .rodata.*) }} :rodata
    . = ALIGN(4096);
    .data : {{ *(.data .data.*) *(.got .got.*) }} :data
    .bss (NOLOAD) : {{ *(.bss .bss.*) *(COMMON) }} :data
    /DISCARD/ : {{ *(.eh_frame .eh_frame_hdr .comment .note.GNU-stack) }}
}}
"#
    )
}

fn const_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The `config` module a task includes with `userlib::task_config!()`.
fn task_config(app: &App, layout: &Layout, index: usize) -> String {
    let t = &app.tasks[index];
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/// Generated by cargo xtask from {}.",
        app.path.display()
    );
    let _ = writeln!(s, "#[allow(dead_code)]\npub mod config {{");
    let _ = writeln!(s, "    pub const TASK_NAME: &str = {:?};", t.name);
    let _ = writeln!(s, "    pub const TASK_INDEX: u16 = {index};");
    let _ = writeln!(
        s,
        "    /// Where device registers granted to this task go (0: it may hold none);\n    /// device `d` at `DEVICE_WINDOW + system::DEVICE_REGISTERS[d].0`.\n    pub const DEVICE_WINDOW: u64 = {:#x};",
        layout.tasks[index].device_window.unwrap_or(0)
    );
    let _ = writeln!(s, "    pub const TASK_COUNT: usize = {};", app.tasks.len());
    let names: Vec<String> = app.tasks.iter().map(|t| format!("{:?}", t.name)).collect();
    let _ = writeln!(
        s,
        "    pub const TASK_NAMES: [&str; {}] = [{}];",
        names.len(),
        names.join(", ")
    );
    let _ = writeln!(
        s,
        "    /// Peers, generation 0 (the client refreshes on a dead code)."
    );
    let _ = writeln!(s, "    pub mod slots {{");
    for (slot, peer) in &t.slots {
        let _ = writeln!(
            s,
            "        pub const {}: userlib::abi::TaskId = userlib::abi::TaskId({peer});",
            const_name(slot)
        );
    }
    let _ = writeln!(s, "    }}");
    let _ = writeln!(
        s,
        "    /// Tasks this one posts to: (task ID, bits), from app.toml `notify`."
    );
    let _ = writeln!(
        s,
        "    pub const NOTIFY: [(userlib::abi::TaskId, u32); {}] = [{}];",
        t.notify.len(),
        t.notify
            .iter()
            .map(|(_, i, bits)| format!("(userlib::abi::TaskId({i}), {bits:#x})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "    /// Notification bits.\n    pub mod notifications {{"
    );
    for (bit, n) in t.notifications.iter().enumerate() {
        let _ = writeln!(s, "        pub const {}: u32 = 1 << {bit};", const_name(n));
    }
    let _ = writeln!(
        s,
        "    }}\n    /// Interrupt vectors routed to this task.\n    pub mod vectors {{"
    );
    for (v, bits, _) in &t.irqs {
        let n = &t.notifications[bits.trailing_zeros() as usize];
        let _ = writeln!(s, "        pub const {}: u8 = {v};", const_name(n));
    }
    let _ = writeln!(s, "    }}\n    /// Granted regions: virtual base, physical base, size.\n    pub mod regions {{");
    for g in &layout.tasks[index].grants {
        let r = &app.regions[g.region];
        let _ = writeln!(
            s,
            "        pub const {}: (u64, u64, u64) = ({:#x}, {:#x}, {:#x});",
            const_name(&r.name),
            g.vaddr,
            layout.region_phys[g.region],
            r.size
        );
    }
    let _ = writeln!(s, "    }}");
    let all: Vec<String> = layout.tasks[index]
        .grants
        .iter()
        .map(|g| {
            format!(
                "({:?}, {:#x}, {:#x}, {:#x})",
                app.regions[g.region].name,
                g.vaddr,
                layout.region_phys[g.region],
                app.regions[g.region].size
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "    /// Every granted region: (name, virtual base, physical base, size).\n    pub const REGIONS: [(&str, u64, u64, u64); {}] = [{}];",
        all.len(),
        all.join(", ")
    );
    s.push_str(&crate::system::config_module(app, layout));
    s.push_str(&powers_module(app));
    let _ = writeln!(
        s,
        "    /// Every task's index, by name.\n    pub mod tasks {{"
    );
    for (i, other) in app.tasks.iter().enumerate() {
        let _ = writeln!(
            s,
            "        pub const {}: u16 = {i};",
            const_name(&other.name)
        );
    }
    let _ = writeln!(s, "    }}\n}}");
    s
}

/// `config::powers`: who holds the supervisor's powers (IDL caller groups).
fn powers_module(app: &App) -> String {
    let members = |holds: fn(&crate::app::Task) -> bool| {
        let list: Vec<String> = app
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| holds(t))
            .map(|(i, _)| i.to_string())
            .collect();
        format!("[{}]", list.join(", "))
    };
    let operators = members(|t| t.operator);
    let injectors = members(|t| t.fault_injection);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    /// The supervisor's caller groups (app.toml `operator`, `fault-injection`)."
    );
    let _ = writeln!(s, "    pub mod powers {{");
    let _ = writeln!(
        s,
        "        /// Tasks with `operator = true`.\n        pub const OPERATORS: &[u16] = &{operators};"
    );
    let _ = writeln!(
        s,
        "        /// Tasks with `fault-injection = true`.\n        pub const FAULT_INJECTORS: &[u16] = &{injectors};"
    );
    let _ = writeln!(
        s,
        "        /// (group, members), for `callers = [\"@group\"]`.\n        pub const GROUPS: [(&str, &[u16]); 2] = [(\"operators\", OPERATORS), (\"fault-injectors\", FAULT_INJECTORS)];"
    );
    let _ = writeln!(s, "    }}");
    s
}

fn kernel_config(
    app: &App,
    layout: &Layout,
    segments: &[Vec<Seg>],
    elves: &[PathBuf],
) -> Result<String, String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated by cargo xtask from {}.",
        app.path.display()
    );
    let _ = writeln!(s, "pub const TASK_COUNT: usize = {};", app.tasks.len());
    let _ = writeln!(s, "pub const FRAMES_END: u64 = {:#x};", layout::FRAMES_END);
    let _ = writeln!(
        s,
        "pub const TEST_ACPI_ROOT: Option<u64> = {};",
        app.test_acpi_root
            .map_or("None".to_string(), |r| format!("Some({r:#x})"))
    );
    let _ = writeln!(
        s,
        "pub static APP: kern::desc::AppDesc = kern::desc::AppDesc {{"
    );
    let _ = writeln!(s, "    name: {:?},", app.name);
    let _ = writeln!(s, "    supervisor: {},", app.supervisor);
    let _ = writeln!(s, "    fault_notification: {:#x},", app.fault_bit);
    let _ = writeln!(
        s,
        "    custodian: {},",
        app.custodian.map_or(u16::MAX as usize, |c| c)
    );
    let _ = writeln!(s, "    devices: &[");
    for (d, offset) in app.system.devices.iter().zip(&layout.device_offsets) {
        let holder = d
            .domain
            .map_or(u16::MAX as usize, |di| app.system.domains[di].owner);
        let (paddr, size) = match (offset, d.bar0, d.bar0_size) {
            (Some(_), Some(b), Some(sz)) => (b, sz),
            _ => (0, 0),
        };
        let _ = writeln!(
            s,
            "        kern::desc::DeviceRegs {{ name: {:?}, paddr: {paddr:#x}, size: {size:#x}, offset: {:#x}, initial_holder: {holder} }},",
            d.name,
            offset.unwrap_or(0)
        );
    }
    let _ = writeln!(s, "    ],");
    let _ = writeln!(s, "    tasks: &[");
    for (i, t) in app.tasks.iter().enumerate() {
        let entry = entry_of(&elves[i])?;
        let tl = &layout.tasks[i];
        let _ = writeln!(s, "        kern::desc::TaskDesc {{");
        let _ = writeln!(s, "            name: {:?},", t.name);
        let _ = writeln!(s, "            priority: {},", t.priority);
        let _ = writeln!(s, "            entry: {entry:#x},");
        let _ = writeln!(s, "            stack_top: {:#x},", tl.stack_top);
        let _ = writeln!(s, "            stack_size: {:#x},", t.stacksize);
        let _ = writeln!(s, "            start: {},", t.start);
        let _ = writeln!(s, "            rights: {},", crate::rights::literal(app, i));
        let _ = writeln!(
            s,
            "            device_window: {:#x},",
            tl.device_window.unwrap_or(0)
        );
        let _ = writeln!(s, "            segments: &[");
        for seg in &segments[i] {
            let _ = writeln!(
                s,
                "                kern::desc::Segment {{ vaddr: {:#x}, memsz: {:#x}, flags: {}, data: include_bytes!({:?}) }},",
                seg.vaddr,
                seg.memsz,
                seg.flags,
                seg.file.display().to_string()
            );
        }
        let _ = writeln!(s, "            ],\n            regions: &[");
        for g in &tl.grants {
            let r = &app.regions[g.region];
            let kind = match r.kind {
                RegionKind::Mmio => "Mmio",
                RegionKind::Dma => "Dma",
                RegionKind::Persist => "Persist",
                RegionKind::Ram => "Ram",
                RegionKind::AcpiTables => "AcpiTables",
            };
            let _ = writeln!(
                s,
                "                kern::desc::RegionDesc {{ name: {:?}, vaddr: {:#x}, paddr: {:#x}, size: {:#x}, kind: kern::desc::RegionKind::{kind}, writable: {} }},",
                r.name, g.vaddr, layout.region_phys[g.region], r.size, r.writable
            );
        }
        let _ = writeln!(s, "            ],\n            io_ports: &[");
        for p in &t.io_ports {
            let _ = writeln!(
                s,
                "                kern::desc::PortRange {{ base: {:#x}, count: {} }},",
                p.base, p.count
            );
        }
        let _ = writeln!(s, "            ],\n            irqs: &[");
        for (v, bits, gsi) in &t.irqs {
            let gsi = gsi.unwrap_or(u8::MAX);
            let _ = writeln!(
                s,
                "                kern::desc::IrqDesc {{ vector: {v}, notification: {bits:#x}, gsi: {gsi} }},"
            );
        }
        let _ = writeln!(s, "            ],\n        }},");
    }
    let _ = writeln!(s, "    ],\n}};");
    Ok(s)
}

fn entry_of(elf: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let obj = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    Ok(obj.entry())
}
