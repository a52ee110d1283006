//! `cargo xtask build`: every task as its own ELF at its own addresses, then
//! the kernel with the generated task table, which is the bootable image.
//!
//! Firmware crates are built for the host target (the only one installed)
//! as freestanding static executables: `--target` keeps these flags away
//! from build scripts and proc-macros, the `firmware` profile aborts on
//! panic, and the kernel and tasks link with their own scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSegment, SegmentFlags};

use crate::app::App;
use crate::layout;

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
        write(&config, &crate::generate::task_config(app, &layout, i)?)?;
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
        &crate::generate::kernel_config(app, &layout, &segments, &task_elves)?,
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
